// Registry set-up (the one place that calls every register_builtin_*) and scenario dispatch.
#include "sim/cli/components.hpp"

#include <fmt/core.h>

#include <CLI/CLI.hpp>

#include <iostream>

#include "sim/chain/audit.hpp"
#include "sim/chain/registry.hpp"
#include "sim/chain/simulation.hpp"
#include "sim/fl/simulation.hpp"
#include "sim/net/registry.hpp"

namespace ledgerfl::cli {

struct ChainParts {
  net::NetRegistries net;
  chain::ChainRegistries chain;
  CLI::App* audit = nullptr;  // the `audit` subcommand and its argument
  std::string audit_path;
  std::string audit_expect;  // --expect DIGEST
};

Components::Components() : chain(std::make_unique<ChainParts>()) {
  fl::register_builtin_fl(fl);
  fl::add_to_catalog(fl, catalog);
  net::register_builtin_net(chain->net);
  net::add_to_catalog(chain->net, catalog);
  chain::register_builtin_chain(chain->chain);
  chain::add_to_catalog(chain->chain, catalog);
}
Components::~Components() = default;

Simulation build_simulation(const Components& comps, const scenario::ParamView& root,
                            std::uint64_t seed) {
  const bool learning = root.has("model") || root.has("data");
  const bool chain = root.has("chain");
  if (learning && chain)
    root.fail("chain",
              "a scenario with both learning ([model], [data]) and a chain is not supported yet: "
              "the learning contract that joins them is a later capability");
  Simulation s;
  if (learning || !chain) {
    std::shared_ptr<fl::FlSimulation> fl = fl::FlSimulation::build(root, seed, comps.fl);
    s.total_rounds = fl->total_rounds();
    s.description = fmt::format("federated learning: model {} ({} parameters), {} rounds",
                                fl->model().name(), fl->num_params(), fl->total_rounds());
    if (root.dry()) s.memory = fl->memory().summary();
    s.run = [fl](core::RunSink& sink) { fl->run(sink); };
    return s;
  }
  std::shared_ptr<chain::ChainSimulation> ch =
      chain::ChainSimulation::build(root, seed, comps.chain->net, comps.chain->chain);
  s.description = "chain without learning";
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

void add_extra_commands(CLI::App& app, Components& comps) {
  CLI::App*& audit = comps.chain->audit;
  audit = app.add_subcommand(
      "audit",
      "verify a run file's digest chain (every flush, metrics included; prints the final "
      "digest), then a recorded ledger: every block hash, parent link, Merkle root and "
      "payload hash (exit 0 all hold, 1 first broken one named, 2 unreadable file)");
  audit->add_option("run", comps.chain->audit_path, "run file (.h5)")->required();
  audit->add_option("--expect", comps.chain->audit_expect,
                    "published final digest: exit 1 if the file's differs");
}

int run_extra_commands(CLI::App&, Components& comps) {
  if (comps.chain->audit && *comps.chain->audit)
    return chain::audit_run(comps.chain->audit_path, std::cout, comps.chain->audit_expect);
  return 2;
}

}  // namespace ledgerfl::cli
