// Built-in aggregation rules. FedAvg: McMahan et al. 2017, "Communication-Efficient Learning of
// Deep Networks from Decentralized Data", Alg. 1 (sample-size-weighted mean of client models).
#include "sim/fl/aggregator.hpp"

#include <algorithm>
#include <vector>

#include <tbb/blocked_range.h>
#include "sim/core/parallel.hpp"
#include "sim/fl/aggregators/aggregators.hpp"

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
  // Per coordinate the sum is acc = (((0 + w0 d0) + w1 d1) + ...) in client-id order, whatever
  // the blocking: clients are taken four at a time only to keep the accumulator in registers
  // (the loop is bound by reading the deltas from memory; 4x fewer accumulator loads/stores).
  constexpr std::size_t kBlock = 2048;  // 16 KiB of double accumulators: stays in L1
  const std::size_t m = order.size();
  core::parallel_for_chunks(out.size(), kBlock, [&](std::size_t lo, std::size_t hi) {
    double acc[kBlock];
    const std::size_t n = hi - lo;
    std::fill(acc, acc + n, 0.0);
    std::size_t k = 0;
    for (; k + 4 <= m; k += 4) {
      const float* d0 = order[k]->delta.data() + lo;
      const float* d1 = order[k + 1]->delta.data() + lo;
      const float* d2 = order[k + 2]->delta.data() + lo;
      const float* d3 = order[k + 3]->delta.data() + lo;
      const double w0 = w[k], w1 = w[k + 1], w2 = w[k + 2], w3 = w[k + 3];
      for (std::size_t i = 0; i < n; ++i) {
        double a = acc[i];
        a += w0 * d0[i];
        a += w1 * d1[i];
        a += w2 * d2[i];
        a += w3 * d3[i];
        acc[i] = a;
      }
    }
    for (; k < m; ++k) {
      const float* d = order[k]->delta.data() + lo;
      const double wk = w[k];
      for (std::size_t i = 0; i < n; ++i) acc[i] += wk * d[i];
    }
    for (std::size_t i = 0; i < n; ++i) out[lo + i] = static_cast<float>(acc[i]);
  });
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
}

}  // namespace ledgerfl::fl
