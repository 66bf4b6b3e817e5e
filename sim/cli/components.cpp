// Registry set-up (the one place that calls every register_builtin_*) and scenario dispatch.
#include "sim/cli/components.hpp"

#include <fmt/core.h>

#include <CLI/CLI.hpp>

#include "sim/fl/simulation.hpp"

namespace ledgerfl::cli {

struct ChainParts {};

Components::Components() : chain(std::make_unique<ChainParts>()) {
  fl::register_builtin_fl(fl);
  fl::add_to_catalog(fl, catalog);
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
    s.run = [fl](core::RunSink& sink) { fl->run(sink); };
    return s;
  }
  root.fail("chain", "chain-only scenarios need the chain module, which is not built yet");
}

void add_extra_commands(CLI::App&, Components&) {}
int run_extra_commands(CLI::App&, Components&) {
  return 2;
}

}  // namespace ledgerfl::cli
