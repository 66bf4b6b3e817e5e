// Divide-and-Conquer (DnC): Shejwalkar, Houmansadr 2021, "Manipulating the Byzantine: Optimizing
// Model Poisoning Attacks and Defenses for Federated Learning" (NDSS), Alg. 2: in each of
// `iterations` rounds, subsample b coordinates, centre the subsampled updates on their mean,
// take the top right singular vector v, score s_i = <x_i - mu, v>^2 and keep the n - c f lowest;
// the aggregate is the mean of the updates kept in every iteration.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "sim/core/parallel.hpp"
#include "sim/core/rng.hpp"
#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"
#include "sim/fl/aggregators/pairwise.hpp"

namespace ledgerfl::fl::aggs {

namespace {

class Dnc final : public RobustAggregator {
 public:
  Dnc(std::optional<std::size_t> f, std::size_t iterations, double c, std::size_t b)
      : RobustAggregator(
            "dnc", f, [c](std::size_t n, std::size_t f) { return c * double(f) < double(n); },
            "c f < n"),
        iterations_(iterations),
        c_(c),
        b_(b) {}
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext& ctx, AggregationReport* report) const override {
    const Canonical c = canonical(updates);
    const std::size_t f = effective_f(c.n, ctx, report);
    const std::size_t drop =
        std::min<std::size_t>(c.n - 1, static_cast<std::size_t>(std::floor(c_ * double(f))));
    const std::size_t b = std::min(b_, c.dim);
    const auto round = static_cast<std::uint64_t>(ctx.round);
    std::vector<char> good(c.n, 1);
    std::vector<std::uint32_t> idx(c.dim);
    std::vector<float> x(c.n * b), mu(b);
    for (std::size_t it = 0; it < iterations_ && drop > 0; ++it) {
      // Keyed subsample of b coordinates (partial Fisher-Yates), sorted for locality.
      std::iota(idx.begin(), idx.end(), 0u);
      if (b < c.dim) {
        core::Rng rng(ctx.seed, "dnc_subsample", it, round);
        for (std::size_t t = 0; t < b; ++t)
          std::swap(idx[t], idx[t + static_cast<std::size_t>(rng.below(c.dim - t))]);
        std::sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(b));
      }
      core::parallel_for_chunks(c.n, 8, [&](std::size_t lo, std::size_t hi) {
        for (std::size_t k = lo; k < hi; ++k)
          for (std::size_t t = 0; t < b; ++t) x[k * b + t] = c.rows[k][idx[t]];
      });
      std::vector<const float*> sub(c.n);
      for (std::size_t k = 0; k < c.n; ++k) sub[k] = x.data() + k * b;
      weighted_mean_rows(sub, std::vector<double>(c.n, 1.0), mu);
      // Top right singular vector of the centred matrix X_c through its Gram matrix
      // C = X_c X_c^T: the top eigenvector u of C gives <x_i - mu, v> = sigma u_i, so the
      // scores rank as u_i^2. Power iteration from a keyed start, a fixed number of steps.
      const auto cm = gram(sub, b, mu);
      std::vector<double> u(c.n), w(c.n);
      core::Rng start(ctx.seed, "dnc_power", it, round);
      for (double& e : u) e = start.normal();
      for (int step = 0; step < 100; ++step) {
        double nn = 0;
        for (std::size_t i = 0; i < c.n; ++i) {
          double s = 0;
          for (std::size_t j = 0; j < c.n; ++j) s += cm[i * c.n + j] * u[j];
          w[i] = s;
          nn += s * s;
        }
        if (!(nn > 0)) break;
        const double inv = 1.0 / std::sqrt(nn);
        for (std::size_t i = 0; i < c.n; ++i) u[i] = w[i] * inv;
      }
      std::vector<std::size_t> order(c.n);
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b2) { return u[a] * u[a] > u[b2] * u[b2]; });
      for (std::size_t t = 0; t < drop; ++t) good[order[t]] = 0;
    }
    std::vector<const float*> rows;
    std::vector<double> trust(c.n, 0.0);
    for (std::size_t k = 0; k < c.n; ++k)
      if (good[k]) rows.push_back(c.rows[k]), trust[k] = 1.0;
    weighted_mean_rows(rows, std::vector<double>(rows.size(), 1.0), out);
    set_trust(c, trust, report);
  }

 private:
  std::size_t iterations_;
  double c_;
  std::size_t b_;
};

}  // namespace

void register_dnc(AggregatorRegistry& reg) {
  reg.add({"dnc",
           "mean of the updates that survive `iterations` spectral filters on keyed coordinate "
           "subsamples, each removing the c f largest projections on the top singular vector "
           "(Shejwalkar & Houmansadr 2021); ignores sample weights; trust 1 kept, 0 removed; "
           "bound c f < n",
           {f_doc(""),
            {"iterations", "int", "5", "", "filtering iterations (niters)"},
            {"c", "float", "1.0", "", "filtering fraction: c f updates removed per iteration"},
            {"b", "int", "10000", "coordinates",
             "coordinates subsampled per iteration (all if the model is smaller)"}}},
          [](const scenario::ParamView& p) {
            auto f = read_f(p);
            const auto it = p.integer("iterations", 5, scenario::Bounds::at_least(1));
            const double c = p.number("c", 1.0, scenario::Bounds::positive());
            const auto b = p.integer("b", 10000, scenario::Bounds::at_least(1));
            return std::make_unique<Dnc>(f, static_cast<std::size_t>(it), c,
                                         static_cast<std::size_t>(b));
          });
}

}  // namespace ledgerfl::fl::aggs
