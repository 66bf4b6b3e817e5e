// Built-in aggregation rules. FedAvg: McMahan et al. 2017, "Communication-Efficient Learning of
// Deep Networks from Decentralized Data", Alg. 1 (sample-size-weighted mean of client models).
#include "sim/fl/aggregator.hpp"

#include <algorithm>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

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
  constexpr std::size_t kBlock = 4096;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, out.size(), kBlock),
                    [&](const tbb::blocked_range<std::size_t>& r) {
                      double acc[kBlock];
                      const std::size_t n = r.end() - r.begin();
                      std::fill(acc, acc + n, 0.0);
                      for (std::size_t k = 0; k < order.size(); ++k) {
                        const float* d = order[k]->delta.data() + r.begin();
                        const double wk = w[k];
                        for (std::size_t i = 0; i < n; ++i) acc[i] += wk * d[i];
                      }
                      for (std::size_t i = 0; i < n; ++i)
                        out[r.begin() + i] = static_cast<float>(acc[i]);
                    });
}

namespace {
class FedAvg final : public Aggregator {
 public:
  explicit FedAvg(bool weighted) : weighted_(weighted) {}
  std::string name() const override { return weighted_ ? "fedavg" : "mean"; }
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out) const override {
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
}

}  // namespace ledgerfl::fl
