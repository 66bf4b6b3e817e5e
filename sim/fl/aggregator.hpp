// Aggregation rules: combine the round's client updates (deltas) into one global delta.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/scenario/registry.hpp"

namespace ledgerfl::fl {

// One client's contribution: its model delta (new weights - starting weights) and its weight
// (number of local samples for FedAvg; staleness-scaled in buffered async mode).
struct ClientUpdate {
  std::size_t client = 0;
  double weight = 1.0;
  std::span<const float> delta;
};

// What a rule may know besides the updates. Robust rules read f, the number of Byzantine
// updates they are configured to tolerate (their own `f` key, else `byzantine` below).
struct AggregationContext {
  std::int64_t round = 0;
  std::uint64_t seed = 0;         // keys any randomness (FLAME's noise): core::Rng(seed, ...)
  std::size_t byzantine = 0;      // the coordinator's expected attacker count in this round
  std::span<const float> global;  // the current global model (may be empty in unit tests)
  // FLTrust's server update: trains on the root data set held by the server (or, under the
  // contract, by the validators) from `global` and writes the delta. Empty when unavailable.
  std::function<void(std::span<float>)> root_update;
  // Whether this is the round's aggregate: stateful rules (centered clipping's centre, FoolsGold's
  // history) learn only from it; aggregations of subsets (contribution scores) pass false.
  bool round_result = true;
};

// Per update (in the order given): the share of FedAvg weight it kept, 0 = excluded, 1 = entered
// like plain FedAvg; detection_tpr/fpr count updates with trust < 0.5 as flagged.
struct AggregationReport {
  std::vector<double> trust;
  std::string note;  // e.g. "krum: f lowered from 4 to 3 (only 9 updates)"
};

// Implementations must be permutation invariant to the bit: the result may not depend on the
// order in which updates are given (the contract test checks every registered rule). The simple
// way: sort by client id first (canonical order) and compute only in that order.
class Aggregator {
 public:
  virtual ~Aggregator() = default;
  virtual std::string name() const = 0;
  // Writes the aggregate delta into out (size = model parameters). updates is non-empty.
  // `report`, if given, receives one trust value per update (rules that exclude nobody may leave
  // it to the default: all 1).
  virtual void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                         const AggregationContext& ctx, AggregationReport* report) const = 0;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out) const {
    aggregate(updates, out, AggregationContext{}, nullptr);
  }
  // Whether the rule's bound holds for n updates of which f may be Byzantine (Krum: n > 2f + 2);
  // an empty string if it does, else the message naming the keys. Coordinators check it when a
  // scenario is validated, with the round size; at run time a round with fewer updates lowers f
  // to the largest admissible value and says so in the report note.
  virtual std::string check(std::size_t n, std::size_t f) const {
    (void)n, (void)f;
    return {};
  }
  // The f configured by the rule's `f` key, or `fallback` (ctx.byzantine) if it has none.
  virtual std::size_t configured_f(std::size_t fallback) const { return fallback; }
  // Whether the rule needs ctx.root_update (FLTrust).
  virtual bool needs_root_update() const { return false; }
};

using AggregatorFactory = std::function<std::unique_ptr<Aggregator>(const scenario::ParamView&)>;
using AggregatorRegistry = scenario::Registry<AggregatorFactory>;
void register_builtin_aggregators(AggregatorRegistry& reg);

// Weighted mean of deltas, summed in client-id order in double precision, parallel over
// coordinates (each coordinate's sum is independent, so any thread count gives the same bits).
void weighted_mean(std::span<const ClientUpdate> updates, std::span<float> out);

}  // namespace ledgerfl::fl
