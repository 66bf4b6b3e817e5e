// Chain registries (consensus engines, workloads) and their catalog entries.
#pragma once

#include <functional>
#include <memory>

#include "sim/chain/consensus.hpp"
#include "sim/chain/workload.hpp"
#include "sim/scenario/registry.hpp"

namespace ledgerfl::chain {

// Reads [workload] and builds the generator.
using WorkloadFactory =
    std::function<std::unique_ptr<Workload>(const scenario::ParamView&, std::uint64_t seed)>;

struct ChainRegistries {
  ConsensusRegistry consensus{"consensus", "[chain.consensus] type = ..."};
  scenario::Registry<WorkloadFactory> workloads{"workload", "[workload] type = ..."};
};

// An engine's block or slot interval must leave at most 10^7 of them in the run (duration /
// interval): beyond that a run is a hang, not an experiment. Fails positioned at `key`.
void check_slots_per_run(const scenario::ParamView& p, std::string_view key, core::SimTime interval,
                         core::SimTime duration);

void register_builtin_chain(ChainRegistries& r);
void add_to_catalog(const ChainRegistries& r, scenario::Catalog& c);

// Keys of [chain] and [simulation] read by ChainSimulation::build (README reference).
std::vector<scenario::ParamDoc> chain_table_docs();

}  // namespace ledgerfl::chain
