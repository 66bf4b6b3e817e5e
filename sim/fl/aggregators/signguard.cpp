// SignGuard: Xu, Huang, Zhang, Lai 2022, "Byzantine-robust Federated Learning through
// Collaborative Malicious Gradient Filtering" (ICDCS), Alg. 1: a norm filter (keep
// L <= ||g_i|| / median norm <= R) intersected with a sign-statistics filter (the largest
// cluster of the features (fraction of positive, zero, negative coordinates)); the kept updates
// are clipped to the median norm and averaged.
//
// Simplification (documented): the paper clusters the sign features of a random coordinate
// subset with Mean-Shift. Here the features use every coordinate (no randomness) and the
// clustering is one flat-kernel mean shift: start at the component-wise median of the features,
// move to the mean of the features within `bandwidth` (Euclidean), 20 steps or until it stops;
// the cluster is the updates within `bandwidth` of the final centre.
#include <algorithm>
#include <array>
#include <cmath>

#include "sim/core/parallel.hpp"
#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"

namespace ledgerfl::fl::aggs {

namespace {

class SignGuard final : public RobustAggregator {
 public:
  SignGuard(std::optional<std::size_t> f, double lower, double upper, double bandwidth)
      : RobustAggregator(
            "signguard", f, [](std::size_t n, std::size_t f) { return 2 * f < n; }, "2f < n"),
        lower_(lower),
        upper_(upper),
        bandwidth_(bandwidth) {}
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext& ctx, AggregationReport* report) const override {
    const Canonical c = canonical(updates);
    (void)effective_f(c.n, ctx, report);
    const auto len = norms(c.rows, c.dim);
    std::vector<std::array<double, 3>> feat(c.n);
    core::parallel_for(c.n, [&](std::size_t k) {
      std::size_t pos = 0, neg = 0;
      for (std::size_t i = 0; i < c.dim; ++i) pos += c.rows[k][i] > 0, neg += c.rows[k][i] < 0;
      const double d = c.dim ? double(c.dim) : 1.0;
      feat[k] = {double(pos) / d, double(c.dim - pos - neg) / d, double(neg) / d};
    });
    const double med = median_of(len);
    std::array<double, 3> center{};
    for (int a = 0; a < 3; ++a) {
      std::vector<double> col(c.n);
      for (std::size_t k = 0; k < c.n; ++k) col[k] = feat[k][a];
      center[a] = median_of(col);
    }
    auto near = [&](std::size_t k) {
      double s = 0;
      for (int a = 0; a < 3; ++a) s += (feat[k][a] - center[a]) * (feat[k][a] - center[a]);
      return std::sqrt(s) <= bandwidth_;
    };
    for (int step = 0; step < 20; ++step) {
      std::array<double, 3> sum{};
      std::size_t m = 0;
      for (std::size_t k = 0; k < c.n; ++k)
        if (near(k)) {
          ++m;
          for (int a = 0; a < 3; ++a) sum[a] += feat[k][a];
        }
      if (m == 0) break;
      std::array<double, 3> next{sum[0] / double(m), sum[1] / double(m), sum[2] / double(m)};
      if (next == center) break;
      center = next;
    }
    std::vector<double> trust(c.n, 0.0), coef(c.n, 0.0);
    std::size_t kept = 0;
    for (std::size_t k = 0; k < c.n; ++k) {
      const double r = med > 0 ? len[k] / med : 1.0;
      if (r >= lower_ && r <= upper_ && near(k)) {
        trust[k] = len[k] > med ? med / len[k] : 1.0;
        ++kept;
      }
    }
    for (std::size_t k = 0; k < c.n; ++k) coef[k] = kept ? trust[k] / double(kept) : 0.0;
    linear_combination(c.rows, coef, out);
    set_trust(c, trust, report);
  }

 private:
  double lower_, upper_, bandwidth_;
};

}  // namespace

void register_signguard(AggregatorRegistry& reg) {
  reg.add({"signguard",
           "norm filter [lower, upper] x median norm intersected with a sign-statistics cluster "
           "(one flat mean shift: a documented simplification of the paper's Mean-Shift), "
           "clipped to the median norm and averaged (Xu et al. 2022); ignores sample weights; "
           "trust = clip factor if kept, else 0",
           {f_doc("only checked against 2f < n"),
            {"lower", "float", "0.1", "", "L: smallest kept norm / median norm"},
            {"upper", "float", "3.0", "", "R: largest kept norm / median norm"},
            {"bandwidth", "float", "0.05", "",
             "mean-shift radius in the (positive, zero, negative) fraction space"}}},
          [](const scenario::ParamView& p) {
            auto f = read_f(p);
            const double lo = p.number("lower", 0.1, scenario::Bounds::non_negative());
            const double hi = p.number("upper", 3.0, scenario::Bounds::positive());
            const double bw = p.number("bandwidth", 0.05, scenario::Bounds::positive());
            if (hi < lo) p.fail("upper", "must be >= lower");
            return std::make_unique<SignGuard>(f, lo, hi, bw);
          });
}

}  // namespace ledgerfl::fl::aggs
