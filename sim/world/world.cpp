// The composition root (see world.hpp).
#include "sim/world/world.hpp"

#include <fmt/core.h>

#include "sim/chain/simulation.hpp"
#include "sim/contract/coordinator.hpp"
#include "sim/fl/server.hpp"

namespace ledgerfl::world {

namespace {
void register_builtin_coordinators(CoordinatorRegistry& reg) {
  reg.add({"server",
           "the trusted central server of classic federated learning: it selects clients, "
           "waits for their updates until [rounds] deadline and aggregates (synchronous FedAvg, "
           "McMahan et al. 2017, or buffered asynchronous FedBuff, Nguyen et al. 2022); reads "
           "[rounds] and [devices]",
           {}},
          [](const scenario::ParamView& root, std::uint64_t, std::shared_ptr<fl::Learner> learner,
             const Registries& regs) -> std::unique_ptr<fl::Coordinator> {
            // The same scenario runs under either coordinator (one line switches): the tables
            // only the contract reads are set aside whole under the server, and recorded so.
            for (const char* t : {"network", "chain", "workload", "contract"})
              if (root.has(t)) root.mark_used(t);
            return std::make_unique<fl::ServerCoordinator>(root, std::move(learner),
                                                           regs.fl.distributions);
          });
  reg.add(
      {"contract",
       "the learning contract executed by the validators of a simulated chain: rounds "
       "opened on-chain with block-hash randomness, stake/reputation selection, SHA-256 "
       "update commitments on- or off-chain, committee aggregation with a stake quorum, "
       "gas, token rewards by contribution and slashing; reads [network], [chain], "
       "[workload], [devices] and [contract]",
       contract::contract_param_docs()},
      [](const scenario::ParamView& root, std::uint64_t seed, std::shared_ptr<fl::Learner> learner,
         const Registries& regs) -> std::unique_ptr<fl::Coordinator> {
        return contract::build_contract_coordinator(
            root, seed, std::move(learner),
            contract::ContractDeps{regs.net, regs.chain, regs.economy, regs.fl.distributions});
      });
}
}  // namespace

Registries::Registries() {
  fl::register_builtin_fl(fl);
  net::register_builtin_net(net);
  chain::register_builtin_chain(chain);
  economy::register_builtin_economy(economy);
  register_builtin_coordinators(coordinators);
  fl::add_to_catalog(fl, catalog);
  net::add_to_catalog(net, catalog);
  chain::add_to_catalog(chain, catalog);
  catalog.add(coordinators);
  economy::add_to_catalog(economy, catalog);
}

std::unique_ptr<fl::Coordinator> build_coordinator(const Registries& regs,
                                                   const scenario::ParamView& root,
                                                   std::uint64_t seed) {
  std::shared_ptr<fl::Learner> learner = fl::Learner::build(root, seed, regs.fl);
  const scenario::ParamView c = root.table("coordinator");
  return regs.coordinators.get(c, "type", "server").factory(root, seed, std::move(learner), regs);
}

Simulation build(const Registries& regs, const scenario::ParamView& root, std::uint64_t seed) {
  const bool learning = root.has("model") || root.has("data");
  const bool chain = root.has("chain");
  Simulation s;
  if (learning || !chain) {
    std::shared_ptr<fl::Coordinator> co = build_coordinator(regs, root, seed);
    const fl::Learner& L = co->learner();
    const fl::MemoryEstimate mem = co->memory();
    if (root.dry()) {
      // Validation: everything is read and checked; refuse what this machine cannot hold.
      const std::uint64_t have = fl::machine_memory_bytes();
      const scenario::ParamView model_p = root.table("model");
      if (have > 0 && mem.total() > have)
        model_p.fail(model_p.has("hidden") ? "hidden" : "",
                     fmt::format("the run needs an estimated {} ({}), more than this machine's {} "
                                 "of physical memory; the keys that drive it: model.* and data.dim "
                                 "(parameters), rounds.per_round (per-client deltas), --threads "
                                 "(scratch), data.* (the data set)",
                                 fl::show_bytes(mem.total()), mem.formula(), fl::show_bytes(have)));
      s.memory = mem.summary();
    }
    co->check_feasible(root);
    s.total_rounds = co->total_rounds();
    s.description = fmt::format(
        "federated learning under the {} coordinator: model {} ({} parameters), {} "
        "rounds",
        co->name(), L.model().name(), L.num_params(), co->total_rounds());
    if (co->name() == "server" && root.has("chain"))
      s.description += "; [network], [chain], [workload] and [contract] are set aside (they "
                       "describe the contract coordinator's chain)";
    s.run = [co](core::RunSink& sink) { co->run(sink); };
    s.summary_lines.push_back([co] {
      std::string out;
      for (const std::string& l : co->summary_lines()) out += (out.empty() ? "" : "\n") + l;
      return out;
    });
    return s;
  }
  if (root.has("coordinator"))
    root.fail("coordinator",
              "a coordinator coordinates learning: this scenario has [chain] but no [model] or "
              "[data]");
  std::shared_ptr<chain::ChainSimulation> ch =
      chain::ChainSimulation::build(root, seed, regs.net, regs.chain);
  s.description = "chain without learning";
  if (root.dry()) s.memory = ch->memory().summary();
  s.run = [ch](core::RunSink& sink) { ch->run(sink); };
  s.summary_lines.push_back([ch] {
    const chain::ChainSummary& c = ch->summary();
    return fmt::format(
        "{}: {} nodes ({} validators), {} blocks ({} on the main chain, stale rate "
        "{:.4f}), mean block interval {:.2f} s, {} reorgs",
        c.consensus, c.nodes, c.validators, c.blocks, c.main_blocks, c.stale_rate,
        c.mean_block_interval_s, c.reorgs);
  });
  s.summary_lines.push_back([ch] {
    const chain::ChainSummary& c = ch->summary();
    return fmt::format(
        "block propagation to 50% / 90% / 100% of nodes: {:.3f} / {:.3f} / {:.3f} s; "
        "finality latency mean {:.2f} s, median {:.2f} s; {:.2f} tx/s",
        c.prop50_s, c.prop90_s, c.prop100_s, c.finality_latency_mean_s, c.finality_latency_median_s,
        c.tps);
  });
  s.summary_lines.push_back([ch] {
    const chain::ChainSummary& c = ch->summary();
    return fmt::format(
        "{} events in {:.2f} s wall ({:.2f} M events/s), {} consensus messages, "
        "{} network bytes",
        c.events, c.wall_s, c.events_per_s / 1e6, c.consensus_messages, c.network_bytes);
  });
  return s;
}

}  // namespace ledgerfl::world
