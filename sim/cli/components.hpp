// The CLI's view of the program's components: the world's registries (sim/world) and the
// subcommands other modules contribute (audit).
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/core/record.hpp"
#include "sim/scenario/registry.hpp"
#include "sim/world/world.hpp"

namespace CLI {
class App;
}

namespace ledgerfl::cli {

// Bad command-line use that is not a scenario error (unreadable run file...): exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct AuditArgs;  // the `audit` subcommand's state (components.cpp)

// The program's registries (sim/world, the composition root) and the CLI's own extra commands.
struct Components {
  Components();
  ~Components();
  world::Registries world;
  scenario::Catalog& catalog = world.catalog;
  std::unique_ptr<AuditArgs> audit;
};

// A built, ready-to-run simulation (world::build).
using Simulation = world::Simulation;
inline Simulation build_simulation(const Components& comps, const scenario::ParamView& root,
                                   std::uint64_t seed) {
  return world::build(comps.world, root, seed);
}

// Subcommands contributed by other modules (e.g. `audit`).
void add_extra_commands(CLI::App& app, Components& comps);
int run_extra_commands(CLI::App& app, Components& comps);

}  // namespace ledgerfl::cli
