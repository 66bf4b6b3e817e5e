// Coordinate-wise median: Yin, Chen, Ramchandran, Bartlett 2018, "Byzantine-Robust Distributed
// Learning: Towards Optimal Statistical Rates" (ICML), Option I (median of means with one batch
// per machine); the mean of the two middle values for an even count.
#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"
#include "sim/fl/aggregators/coordinate.hpp"

namespace ledgerfl::fl::aggs {

namespace {

class Median final : public RobustAggregator {
 public:
  explicit Median(std::optional<std::size_t> f)
      : RobustAggregator(
            "median", f, [](std::size_t n, std::size_t f) { return 2 * f < n; }, "2f < n") {}
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext& ctx, AggregationReport* report) const override {
    const Canonical c = canonical(updates);
    (void)effective_f(c.n, ctx, report);  // f only bounds the guarantee; the note says so
    coordinate_median(c.rows, out);
    set_trust(c, std::vector<double>(c.n, 1.0), report);
  }
};

}  // namespace

void register_median(AggregatorRegistry& reg) {
  reg.add({"median",
           "coordinate-wise median (Yin et al. 2018); ignores sample weights; excludes nobody as a "
           "whole (trust 1); bound 2f < n",
           {f_doc("only checked against 2f < n")}},
          [](const scenario::ParamView& p) { return std::make_unique<Median>(read_f(p)); });
}

}  // namespace ledgerfl::fl::aggs
