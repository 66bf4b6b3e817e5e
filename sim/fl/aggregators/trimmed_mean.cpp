// Coordinate-wise trimmed mean: Yin, Chen, Ramchandran, Bartlett 2018, "Byzantine-Robust
// Distributed Learning: Towards Optimal Statistical Rates" (ICML), Option II: per coordinate,
// drop the b largest and b smallest values and average the rest.
#include <cmath>

#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"
#include "sim/fl/aggregators/coordinate.hpp"

namespace ledgerfl::fl::aggs {

namespace {

class TrimmedMean final : public RobustAggregator {
 public:
  TrimmedMean(std::optional<std::size_t> f, double beta)
      : RobustAggregator(
            "trimmed_mean", f,
            [beta](std::size_t n, std::size_t f) { return beta > 0 || 2 * f < n; }, "2f < n"),
        beta_(beta) {}
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext& ctx, AggregationReport* report) const override {
    const Canonical c = canonical(updates);
    std::size_t b = beta_ > 0 ? static_cast<std::size_t>(std::floor(beta_ * double(c.n)))
                              : effective_f(c.n, ctx, report);
    if (2 * b >= c.n) b = (c.n - 1) / 2;  // beta < 0.5 keeps this unreachable but be safe
    coordinate_wise(c.rows, out, [&](std::span<float> v) {
      thread_local SelectScratch s;
      return trimmed_mean_of(v, b, s);
    });
    set_trust(c, std::vector<double>(c.n, 1.0), report);
  }

 private:
  double beta_;
};

}  // namespace

void register_trimmed_mean(AggregatorRegistry& reg) {
  reg.add({"trimmed_mean",
           "coordinate-wise mean without the b largest and b smallest values, b = floor(beta n) "
           "or f (Yin et al. 2018); ignores sample weights; excludes nobody as a whole (trust 1); "
           "bound 2f < n",
           {f_doc("values trimmed per side when beta = 0"),
            {"beta", "float", "0", "",
             "fraction of the updates trimmed per side, in [0, 0.5); 0 = trim f per side"}}},
          [](const scenario::ParamView& p) {
            auto f = read_f(p);
            const double beta = p.number("beta", 0.0, {0.0, 0.5, false, true});
            return std::make_unique<TrimmedMean>(f, beta);
          });
}

}  // namespace ledgerfl::fl::aggs
