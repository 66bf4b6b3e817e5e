// Aggregation rules: combine the round's client updates (deltas) into one global delta.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "sim/scenario/registry.hpp"

namespace ledgerfl::fl {

// One client's contribution: its model delta (new weights - starting weights) and its weight
// (number of local samples for FedAvg; staleness-scaled in buffered async mode).
struct ClientUpdate {
  std::size_t client = 0;
  double weight = 1.0;
  std::span<const float> delta;
};

// Implementations must be permutation invariant to the bit: the result may not depend on the
// order in which updates are given (the contract test checks every registered rule).
class Aggregator {
 public:
  virtual ~Aggregator() = default;
  virtual std::string name() const = 0;
  // Writes the aggregate delta into out (size = model parameters). updates is non-empty.
  virtual void aggregate(std::span<const ClientUpdate> updates, std::span<float> out) const = 0;
};

using AggregatorFactory = std::function<std::unique_ptr<Aggregator>(const scenario::ParamView&)>;
using AggregatorRegistry = scenario::Registry<AggregatorFactory>;
void register_builtin_aggregators(AggregatorRegistry& reg);

// Weighted mean of deltas, summed in client-id order in double precision, parallel over
// coordinates (each coordinate's sum is independent, so any thread count gives the same bits).
void weighted_mean(std::span<const ClientUpdate> updates, std::span<float> out);

}  // namespace ledgerfl::fl
