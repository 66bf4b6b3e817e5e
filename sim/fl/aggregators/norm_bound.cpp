// Norm bounding (with optional weak differential privacy): Sun, Kairouz, Suresh, McMahan 2019,
// "Can You Really Backdoor Federated Learning?", Sec. 3: clip each update to norm M, take the
// (sample-weighted) mean, and optionally add Gaussian noise N(0, sigma^2) per coordinate.
#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"

namespace ledgerfl::fl::aggs {

namespace {

class NormBound final : public RobustAggregator {
 public:
  NormBound(std::optional<std::size_t> f, double bound, double sigma)
      : RobustAggregator(
            "norm_bound", f, [](std::size_t, std::size_t) { return true; }, ""),
        bound_(bound),
        sigma_(sigma) {}
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext& ctx, AggregationReport* report) const override {
    const Canonical c = canonical(updates);
    const auto len = norms(c.rows, c.dim);
    std::vector<double> clip(c.n), coef(c.n);
    double total = 0;
    for (double w : c.weight) total += w;
    for (std::size_t k = 0; k < c.n; ++k) {
      clip[k] = len[k] > bound_ ? bound_ / len[k] : 1.0;
      coef[k] = total > 0 ? clip[k] * c.weight[k] / total : 0.0;
    }
    linear_combination(c.rows, coef, out);
    add_gaussian_noise(out, sigma_, ctx.seed, "norm_bound_noise", ctx.round);
    set_trust(c, clip, report);
  }

 private:
  double bound_, sigma_;
};

}  // namespace

void register_norm_bound(AggregatorRegistry& reg) {
  reg.add({"norm_bound",
           "sample-weighted mean of the updates clipped to norm max_norm, plus optional Gaussian "
           "noise (Sun et al. 2019); trust = the clip factor min(1, M / ||x_i||)",
           {f_doc("not used (no bound)"),
            {"max_norm", "float", "1.0", "", "clipping norm M"},
            {"sigma", "float", "0", "",
             "standard deviation of the noise added per coordinate; 0 disables (keyed by the "
             "seed and round)"}}},
          [](const scenario::ParamView& p) {
            auto f = read_f(p);
            const double m = p.number("max_norm", 1.0, scenario::Bounds::positive());
            const double s = p.number("sigma", 0.0, scenario::Bounds::non_negative());
            return std::make_unique<NormBound>(f, m, s);
          });
}

}  // namespace ledgerfl::fl::aggs
