// The registries of the federated-learning layer and the factories' signatures.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "models/data/dataset.hpp"
#include "models/nn/model.hpp"
#include "sim/agents/attack.hpp"
#include "sim/agents/distribution.hpp"
#include "sim/fl/aggregator.hpp"
#include "sim/fl/server_optimizer.hpp"
#include "sim/scenario/registry.hpp"

namespace ledgerfl::fl {

struct FlRegistries;

// [model] type = "mlp" ...: builds a model for the data's input dimension and class count.
using ModelFactory = std::function<std::unique_ptr<nn::Model>(const scenario::ParamView&,
                                                              int input_dim, int classes)>;
// [data.partition] type = "dirichlet" ...: cuts labelled samples over clients.
using PartitionFactory =
    std::function<data::Partition(const scenario::ParamView&, std::span<const std::int32_t> labels,
                                  int classes, std::size_t clients, std::uint64_t seed)>;
// [data] type = "fashion_mnist" ...: the federated data of `clients` clients.
using DataFactory = std::function<std::unique_ptr<data::FederatedData>(
    const scenario::ParamView&, std::size_t clients, std::uint64_t seed, const FlRegistries&)>;

struct FlRegistries {
  scenario::Registry<DataFactory> datasets{"dataset", "[data] type = \"...\""};
  scenario::Registry<PartitionFactory> partitioners{"partitioner",
                                                    "[data.partition] type = \"...\""};
  scenario::Registry<ModelFactory> models{"model", "[model] type = \"...\""};
  AggregatorRegistry aggregators{"aggregator", "[aggregator] type = \"...\""};
  ServerOptimizerRegistry server_optimizers{"server_optimizer", "[server] type = \"...\""};
  agents::AttackRegistry attacks{"attack",
                                 "[[attack]] type = \"...\" (with fraction or count, "
                                 "start_round, stop_round, on, off, knowledge)"};
  agents::DistributionRegistry distributions{
      "distribution", "[devices] flops/upload/download/latency = {type = \"...\"}"};
};

void register_builtin_fl(FlRegistries& regs);
void register_builtin_models(scenario::Registry<ModelFactory>& reg);
void register_builtin_data(scenario::Registry<DataFactory>& data,
                           scenario::Registry<PartitionFactory>& partitioners);
void add_to_catalog(const FlRegistries& regs, scenario::Catalog& catalog);

}  // namespace ledgerfl::fl
