// The `contract` coordinator: federated learning whose coordinator is the learning contract
// executed by the validators of a simulated chain (sim/contract/contract.hpp). Clients are
// network nodes attached to validators; model downloads, update uploads, replication and the
// committee's fetches travel over the simulated network; every contract call is a transaction
// that waits in the mempool for a block and acts when that block is final.
#pragma once

#include <memory>

#include "sim/agents/distribution.hpp"
#include "sim/chain/registry.hpp"
#include "sim/economy/registries.hpp"
#include "sim/fl/coordinator.hpp"
#include "sim/net/registry.hpp"

namespace ledgerfl::contract {

struct ContractDeps {
  const net::NetRegistries& net;
  const chain::ChainRegistries& chain;
  const economy::EconomyRegistries& economy;
  const agents::DistributionRegistry& distributions;
};

// Reads [simulation], [rounds], [devices], [network], [chain], [workload] and [contract]
// (every key it uses) and assembles the chain around the learner.
std::unique_ptr<fl::Coordinator> build_contract_coordinator(const scenario::ParamView& root,
                                                            std::uint64_t seed,
                                                            std::shared_ptr<fl::Learner> learner,
                                                            const ContractDeps& deps);

// Documentation of the [contract] keys (README reference, `ledgerfl list`).
std::vector<scenario::ParamDoc> contract_param_docs();

}  // namespace ledgerfl::contract
