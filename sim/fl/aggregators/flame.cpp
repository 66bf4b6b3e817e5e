// FLAME: Nguyen et al. 2022, "FLAME: Taming Backdoors in Federated Learning" (USENIX Security),
// Alg. 1: cluster the updates by cosine distance and admit the majority cluster, clip every
// admitted update to the median norm S of all updates, average, add Gaussian noise of standard
// deviation lambda S.
//
// Simplification (documented): FLAME uses HDBSCAN with min cluster size n/2 + 1. Here the
// clustering is single linkage on the cosine distances 1 - cos(x_i, x_j) (a minimum spanning
// tree, Prim): its edges are added in increasing order until one component holds n/2 + 1
// updates, and that component is admitted (the densest majority under single linkage; the
// updates HDBSCAN would call noise stay out). Cosines of the deltas, not of the local models.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>

#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"
#include "sim/fl/aggregators/pairwise.hpp"

namespace ledgerfl::fl::aggs {

// Canonical indices of the single-linkage majority cluster for an n x n distance matrix.
std::vector<std::size_t> majority_cluster(const std::vector<double>& dist, std::size_t n) {
  if (n <= 2) {
    std::vector<std::size_t> all(n);
    std::iota(all.begin(), all.end(), std::size_t{0});
    return all;
  }
  // Prim's MST, O(n^2).
  std::vector<char> in(n, 0);
  std::vector<double> best(n, std::numeric_limits<double>::infinity());
  std::vector<std::size_t> from(n, 0);
  std::vector<std::tuple<double, std::size_t, std::size_t>> edges;
  best[0] = 0;
  for (std::size_t step = 0; step < n; ++step) {
    std::size_t u = n;
    for (std::size_t i = 0; i < n; ++i)
      if (!in[i] && (u == n || best[i] < best[u])) u = i;
    in[u] = 1;
    if (step > 0) edges.emplace_back(best[u], std::min(u, from[u]), std::max(u, from[u]));
    for (std::size_t i = 0; i < n; ++i)
      if (!in[i] && dist[u * n + i] < best[i]) best[i] = dist[u * n + i], from[i] = u;
  }
  std::sort(edges.begin(), edges.end());
  std::vector<std::size_t> parent(n), size(n, 1);
  std::iota(parent.begin(), parent.end(), std::size_t{0});
  auto root = [&](std::size_t a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
  };
  const std::size_t need = n / 2 + 1;
  std::size_t winner = n;
  for (const auto& [w, a, b] : edges) {
    std::size_t ra = root(a), rb = root(b);
    if (ra == rb) continue;
    if (ra > rb) std::swap(ra, rb);
    parent[rb] = ra;
    size[ra] += size[rb];
    if (size[ra] >= need) {
      winner = ra;
      break;
    }
  }
  std::vector<std::size_t> members;
  for (std::size_t i = 0; i < n; ++i)
    if (root(i) == winner) members.push_back(i);
  return members;
}

namespace {

class Flame final : public RobustAggregator {
 public:
  Flame(std::optional<std::size_t> f, double noise)
      : RobustAggregator(
            "flame", f, [](std::size_t n, std::size_t f) { return 2 * f < n; }, "2f < n"),
        noise_(noise) {}
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext& ctx, AggregationReport* report) const override {
    const Canonical c = canonical(updates);
    (void)effective_f(c.n, ctx, report);
    const auto g = gram(c.rows, c.dim);
    auto dist = cosines(g, c.n);
    for (double& x : dist) x = 1.0 - x;
    const auto members = majority_cluster(dist, c.n);
    std::vector<double> len(c.n);
    for (std::size_t k = 0; k < c.n; ++k) len[k] = std::sqrt(std::max(0.0, g[k * c.n + k]));
    const double s = median_of(len);
    std::vector<double> trust(c.n, 0.0), coef(c.n, 0.0);
    for (std::size_t k : members) {
      trust[k] = len[k] > s ? s / len[k] : 1.0;
      coef[k] = trust[k] / double(members.size());
    }
    linear_combination(c.rows, coef, out);
    add_gaussian_noise(out, noise_ * s, ctx.seed, "flame_noise", ctx.round);
    set_trust(c, trust, report);
  }

 private:
  double noise_;
};

}  // namespace

void register_flame(AggregatorRegistry& reg) {
  reg.add({"flame",
           "majority cosine cluster (single linkage: a documented simplification of FLAME's "
           "HDBSCAN), clipped to the median norm, averaged, plus noise lambda x median norm "
           "(Nguyen et al. 2022); ignores sample weights; trust = clip factor if admitted, else 0",
           {f_doc("only checked against 2f < n"),
            {"noise", "float", "0.001", "",
             "lambda: noise standard deviation per coordinate as a multiple of the median norm; "
             "0 disables (keyed by the seed and round)"}}},
          [](const scenario::ParamView& p) {
            auto f = read_f(p);
            return std::make_unique<Flame>(
                f, p.number("noise", 0.001, scenario::Bounds::non_negative()));
          });
}

}  // namespace ledgerfl::fl::aggs
