// The composition root: owns every registry (the one place that calls each register_builtin_*)
// and assembles the world a scenario describes — network, chain, learner, coordinator, economy
// and roles — into one runnable simulation. The CLI, tests and benchmarks build worlds here.
//
//   scenario -> registries -> world::build -> engine -> round phases -> observers (RunSink) -> HDF5
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/chain/registry.hpp"
#include "sim/core/record.hpp"
#include "sim/economy/registries.hpp"
#include "sim/fl/coordinator.hpp"
#include "sim/fl/registries.hpp"
#include "sim/net/registry.hpp"
#include "sim/scenario/registry.hpp"

namespace ledgerfl::world {

struct Registries;

// [coordinator] type = "server" | "contract": builds the coordinator of a learner from the
// scenario (it reads its own tables; the contract also [network], [chain], [contract]).
using CoordinatorFactory = std::function<std::unique_ptr<fl::Coordinator>(
    const scenario::ParamView& root, std::uint64_t seed, std::shared_ptr<fl::Learner> learner,
    const Registries& regs)>;
using CoordinatorRegistry = scenario::Registry<CoordinatorFactory>;

struct Registries {
  Registries();
  Registries(const Registries&) = delete;
  Registries& operator=(const Registries&) = delete;
  fl::FlRegistries fl;
  net::NetRegistries net;
  chain::ChainRegistries chain;
  economy::EconomyRegistries economy;
  CoordinatorRegistry coordinators{"coordinator", "[coordinator] type = \"...\""};
  scenario::Catalog catalog;  // all of the above, for `ledgerfl list` and the README
};

// A built, ready-to-run simulation.
struct Simulation {
  std::int64_t total_rounds = 0;  // 0 = unknown
  std::string description;        // one line for `validate`
  std::string memory;             // estimated memory of the run (dry builds; "" = not estimated)
  std::function<void(core::RunSink&)> run;
  std::vector<std::function<std::string()>> summary_lines;  // printed after the run
};

// Learning scenarios have [model]/[data] and a coordinator ([coordinator], default "server");
// chain-only scenarios have [chain] and no learning. Reads every key it uses; on a dry document
// also refuses a run whose memory estimate exceeds the machine's.
Simulation build(const Registries& regs, const scenario::ParamView& root, std::uint64_t seed);

// The learner and coordinator of a learning scenario (tests, benchmarks).
std::unique_ptr<fl::Coordinator> build_coordinator(const Registries& regs,
                                                   const scenario::ParamView& root,
                                                   std::uint64_t seed);

}  // namespace ledgerfl::world
