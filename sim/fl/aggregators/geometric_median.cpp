// Geometric median (RFA): Pillutla, Kakade, Harchaoui 2022, "Robust Aggregation for Federated
// Learning" (IEEE TSP), Alg. 2 (smoothed Weiszfeld): v <- sum_i beta_i x_i / sum_i beta_i with
// beta_i = alpha_i / max(nu, ||v - x_i||), from the weighted mean, until the objective
// sum_i alpha_i ||v - x_i|| changes by less than tolerance (relative) or after `iterations`.
#include <algorithm>
#include <cmath>

#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"

namespace ledgerfl::fl::aggs {

namespace {

class GeometricMedian final : public RobustAggregator {
 public:
  GeometricMedian(std::optional<std::size_t> f, double nu, std::size_t iterations, double tol)
      : RobustAggregator(
            "geometric_median", f, [](std::size_t n, std::size_t f) { return 2 * f < n; },
            "2f < n"),
        nu_(nu),
        iterations_(iterations),
        tol_(tol) {}
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext& ctx, AggregationReport* report) const override {
    const Canonical c = canonical(updates);
    (void)effective_f(c.n, ctx, report);
    std::vector<double> beta = c.weight;
    std::vector<float> v(c.dim);
    weighted_mean_rows(c.rows, beta, v);
    auto objective = [&](const std::vector<double>& dist) {
      double s = 0;
      for (std::size_t k = 0; k < c.n; ++k) s += c.weight[k] * dist[k];
      return s;
    };
    auto dist = norms(c.rows, c.dim, v);
    double obj = objective(dist);
    for (std::size_t it = 0; it < iterations_; ++it) {
      for (std::size_t k = 0; k < c.n; ++k) beta[k] = c.weight[k] / std::max(nu_, dist[k]);
      weighted_mean_rows(c.rows, beta, v);
      dist = norms(c.rows, c.dim, v);
      const double next = objective(dist);
      const bool done = std::abs(obj - next) <= tol_ * std::max(next, 1e-300);
      obj = next;
      if (done) break;
    }
    std::copy(v.begin(), v.end(), out.begin());
    set_trust(c, share_ratio(c, beta), report);
  }

 private:
  double nu_;
  std::size_t iterations_;
  double tol_;
};

}  // namespace

void register_geometric_median(AggregatorRegistry& reg) {
  reg.add({"geometric_median",
           "sample-weighted geometric median by smoothed Weiszfeld (RFA, Pillutla et al. 2022); "
           "trust = the final Weiszfeld weight's share over the FedAvg share; bound 2f < n",
           {f_doc("only checked against 2f < n"),
            {"nu", "float", "1e-6", "", "smoothing: distances below nu count as nu"},
            {"iterations", "int", "10", "", "maximum Weiszfeld steps"},
            {"tolerance", "float", "1e-6", "",
             "stop when the objective changes by less than this fraction"}}},
          [](const scenario::ParamView& p) {
            auto f = read_f(p);
            const double nu = p.number("nu", 1e-6, scenario::Bounds::positive());
            const auto it = p.integer("iterations", 10, scenario::Bounds::at_least(1));
            const double tol = p.number("tolerance", 1e-6, scenario::Bounds::non_negative());
            return std::make_unique<GeometricMedian>(f, nu, static_cast<std::size_t>(it), tol);
          });
}

}  // namespace ledgerfl::fl::aggs
