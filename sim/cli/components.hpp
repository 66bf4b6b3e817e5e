// Every registry of the program, filled once by the register_builtin_* functions of each folder,
// and the dispatch from a scenario's tables to the simulation it describes.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/core/record.hpp"
#include "sim/fl/registries.hpp"
#include "sim/scenario/registry.hpp"

namespace CLI {
class App;
}

namespace ledgerfl::cli {

// Bad command-line use that is not a scenario error (unreadable run file...): exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ChainParts;  // network and chain registries (defined in components.cpp)

struct Components {
  Components();
  ~Components();
  fl::FlRegistries fl;
  std::unique_ptr<ChainParts> chain;
  scenario::Catalog catalog;
};

// A built, ready-to-run simulation of either kind.
struct Simulation {
  std::int64_t total_rounds = 0;  // 0 = unknown
  std::string description;        // one line for `validate`
  std::string memory;             // estimated memory of the run (dry builds; "" = not estimated)
  std::function<void(core::RunSink&)> run;
  std::vector<std::function<std::string()>> summary_lines;  // printed after the run
};

// Learning scenarios have [model]/[data]; chain-only scenarios have [chain]. Reads every key.
Simulation build_simulation(const Components& comps, const scenario::ParamView& root,
                            std::uint64_t seed);

// Subcommands contributed by other modules (e.g. `audit`).
void add_extra_commands(CLI::App& app, Components& comps);
int run_extra_commands(CLI::App& app, Components& comps);

}  // namespace ledgerfl::cli
