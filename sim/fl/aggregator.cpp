// Built-in aggregation rules. FedAvg: McMahan et al. 2017, "Communication-Efficient Learning of
// Deep Networks from Decentralized Data", Alg. 1 (sample-size-weighted mean of client models).
#include "sim/fl/aggregator.hpp"

#include <algorithm>
#include <vector>

#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"

namespace ledgerfl::fl {

void weighted_mean(std::span<const ClientUpdate> updates, std::span<float> out) {
  // Fixed summation order: sort by client id (ties by weight cannot occur: a client
  // contributes at most once per aggregation).
  std::vector<const ClientUpdate*> order;
  order.reserve(updates.size());
  for (const auto& u : updates) order.push_back(&u);
  std::sort(order.begin(), order.end(),
            [](const ClientUpdate* a, const ClientUpdate* b) { return a->client < b->client; });
  double total = 0.0;
  for (const auto* u : order) total += u->weight;
  const double inv = total > 0 ? 1.0 / total : 0.0;
  std::vector<double> w(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) w[k] = order[k]->weight * inv;
  // Per coordinate acc = (((0 + w0 d0) + w1 d1) + ...) in client-id order, whatever the
  // blocking (the shared kernel of sim/fl/aggregators/common.hpp).
  std::vector<const float*> rows(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) rows[k] = order[k]->delta.data();
  aggs::linear_combination(rows, w, out);
}

namespace {
class FedAvg final : public Aggregator {
 public:
  explicit FedAvg(bool weighted) : weighted_(weighted) {}
  std::string name() const override { return weighted_ ? "fedavg" : "mean"; }
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext&, AggregationReport* report) const override {
    if (report) report->trust.assign(updates.size(), 1.0);
    if (weighted_) return weighted_mean(updates, out);
    std::vector<ClientUpdate> uniform(updates.begin(), updates.end());
    for (auto& u : uniform) u.weight = 1.0;
    weighted_mean(uniform, out);
  }

 private:
  bool weighted_;
};
}  // namespace

void register_builtin_aggregators(AggregatorRegistry& reg) {
  reg.add(
      {"fedavg", "sample-size-weighted mean of client deltas (McMahan et al. 2017, Alg. 1)", {}},
      [](const scenario::ParamView&) { return std::make_unique<FedAvg>(true); });
  reg.add({"mean", "unweighted mean of client deltas", {}},
          [](const scenario::ParamView&) { return std::make_unique<FedAvg>(false); });
  // Robust rules, one file each in sim/fl/aggregators/.
  aggs::register_krum(reg);  // krum, multi_krum
  aggs::register_median(reg);
  aggs::register_trimmed_mean(reg);
  aggs::register_bulyan(reg);
  aggs::register_centered_clipping(reg);
  aggs::register_norm_bound(reg);
  aggs::register_geometric_median(reg);
  aggs::register_foolsgold(reg);
  aggs::register_fltrust(reg);
  aggs::register_dnc(reg);
  aggs::register_flame(reg);
  aggs::register_signguard(reg);
  aggs::register_bucketing(reg);
}

}  // namespace ledgerfl::fl
