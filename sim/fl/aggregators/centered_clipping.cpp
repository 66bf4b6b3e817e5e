// Centered clipping: Karimireddy, He, Jaggi 2021, "Learning from History for Byzantine Robust
// Optimization" (ICML), Eq. (CC): starting from the previous round's aggregate v, repeat L times
// v <- v + (1/n) sum_i (x_i - v) min(1, tau / ||x_i - v||).
#include <algorithm>
#include <cmath>
#include <mutex>

#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"

namespace ledgerfl::fl::aggs {

namespace {

class CenteredClipping final : public RobustAggregator {
 public:
  CenteredClipping(std::optional<std::size_t> f, double tau, std::size_t iterations)
      : RobustAggregator(
            "centered_clipping", f, [](std::size_t n, std::size_t f) { return 2 * f < n; },
            "2f < n"),
        tau_(tau),
        iterations_(iterations) {}
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext& ctx, AggregationReport* report) const override {
    const Canonical c = canonical(updates);
    (void)effective_f(c.n, ctx, report);
    // The center of round r is the output of the last call of an earlier round; calls within one
    // round (a validator recomputing, a contribution score on a subset) all start from it.
    if (ctx.round != round_ || !started_) {
      if (started_ && last_.size() == c.dim) center_ = last_;
      round_ = ctx.round;
      started_ = true;
    }
    if (center_.size() != c.dim) center_.assign(c.dim, 0.0f);
    std::vector<float> v = center_, next(c.dim);
    std::vector<const float*> rows = c.rows;
    rows.push_back(v.data());  // v enters the combination as the last row
    std::vector<double> clip(c.n, 1.0), coef(c.n + 1);
    for (std::size_t it = 0; it < iterations_; ++it) {
      const auto dist = norms(c.rows, c.dim, v);
      double kept = 0;
      for (std::size_t k = 0; k < c.n; ++k) {
        clip[k] = dist[k] > tau_ ? tau_ / dist[k] : 1.0;
        coef[k] = clip[k] / double(c.n);
        kept += coef[k];
      }
      coef[c.n] = 1.0 - kept;  // v + sum c_k (x_k - v) = (1 - sum c_k) v + sum c_k x_k
      linear_combination(rows, coef, next);
      std::swap(v, next);
      rows.back() = v.data();
    }
    std::copy(v.begin(), v.end(), out.begin());
    if (ctx.round_result) last_ = v;  // subsets (contribution scores) do not move the centre
    set_trust(c, clip, report);
  }

 private:
  double tau_;
  std::size_t iterations_;
  // State across rounds (calls are sequential: the coordinator aggregates on one thread).
  mutable std::vector<float> center_, last_;
  mutable std::int64_t round_ = 0;
  mutable bool started_ = false;
};

}  // namespace

void register_centered_clipping(AggregatorRegistry& reg) {
  reg.add({"centered_clipping",
           "L steps of v <- v + mean_i clip_tau(x_i - v) from the previous round's aggregate "
           "(Karimireddy et al. 2021); ignores sample weights; trust = the last step's clip "
           "factor min(1, tau / ||x_i - v||); state: one model vector of center and one of the "
           "last output",
           {f_doc("only checked against 2f < n"),
            {"tau", "float", "10", "", "clipping radius (norm of a delta)"},
            {"iterations", "int", "1", "", "clipping steps L per round"}}},
          [](const scenario::ParamView& p) {
            auto f = read_f(p);
            const double tau = p.number("tau", 10.0, scenario::Bounds::positive());
            const auto l = p.integer("iterations", 1, scenario::Bounds::at_least(1));
            return std::make_unique<CenteredClipping>(f, tau, static_cast<std::size_t>(l));
          });
}

}  // namespace ledgerfl::fl::aggs
