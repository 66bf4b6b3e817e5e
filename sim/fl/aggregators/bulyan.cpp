// Bulyan: El Mhamdi, Guerraoui, Rouault 2018, "The Hidden Vulnerability of Distributed Learning
// in Byzantium" (ICML), Sec. 4: select theta = n - 2f updates by applying Krum repeatedly to the
// remaining set (removing each choice), then per coordinate average the beta = theta - 2f
// selected values closest to their median.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"
#include "sim/fl/aggregators/coordinate.hpp"
#include "sim/fl/aggregators/pairwise.hpp"

namespace ledgerfl::fl::aggs {

// Repeated Krum on the remaining set: theta picks from n points with squared distances d.
// Each step's score is the sum of the k = |S| - f - 2 nearest remaining neighbours (clamped to
// [1, |S| - 1]). Incremental: each row keeps its neighbours sorted by (distance, index) and a
// cursor past its included ones; removing a point and lowering k moves the cursor, so the whole
// selection costs O(n^2 log n) (the sort) instead of O(theta n^2).
std::vector<std::size_t> repeated_krum(const std::vector<double>& d, std::size_t n, std::size_t f,
                                       std::size_t theta) {
  std::vector<std::vector<std::uint32_t>> sorted(n);
  std::vector<std::uint32_t> rank(n * n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    auto& r = sorted[i];
    for (std::size_t j = 0; j < n; ++j)
      if (j != i) r.push_back(static_cast<std::uint32_t>(j));
    std::sort(r.begin(), r.end(), [&](std::uint32_t a, std::uint32_t b) {
      const double da = d[i * n + a], db = d[i * n + b];
      return da < db || (da == db && a < b);
    });
    for (std::size_t p = 0; p < r.size(); ++p) rank[i * n + r[p]] = static_cast<std::uint32_t>(p);
  }
  std::vector<char> removed(n, 0);
  std::vector<std::ptrdiff_t> ptr(n, -1);
  std::vector<std::size_t> cnt(n, 0);
  std::vector<double> score(n, 0.0);
  std::vector<std::size_t> chosen;
  for (std::size_t t = 0; t < theta && t < n; ++t) {
    const std::size_t s = n - t;
    const std::size_t k =
        s <= 1 ? 0
               : std::clamp<std::ptrdiff_t>(std::ptrdiff_t(s) - std::ptrdiff_t(f) - 2, 1,
                                            std::ptrdiff_t(s) - 1);
    std::size_t best = n;
    for (std::size_t i = 0; i < n; ++i) {
      if (removed[i]) continue;
      const auto& r = sorted[i];
      while (cnt[i] > k) {
        while (removed[r[ptr[i]]]) --ptr[i];
        score[i] -= d[i * n + r[ptr[i]]];
        --ptr[i], --cnt[i];
      }
      while (cnt[i] < k) {
        ++ptr[i];
        while (removed[r[ptr[i]]]) ++ptr[i];
        score[i] += d[i * n + r[ptr[i]]];
        ++cnt[i];
      }
      if (best == n || score[i] < score[best]) best = i;
    }
    chosen.push_back(best);
    removed[best] = 1;
    for (std::size_t i = 0; i < n; ++i)
      if (!removed[i] && std::ptrdiff_t(rank[i * n + best]) <= ptr[i]) {
        score[i] -= d[i * n + best];
        --cnt[i];
      }
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

// Mean of the beta values of v closest to their median (ties: the smaller value first).
float closest_to_median_mean(std::span<float> v, std::size_t beta) {
  const std::size_t n = v.size(), h = n / 2;
  select_kth(v, h);
  double med = v[h];
  if (n % 2 == 0) med = 0.5 * (med + double(*std::max_element(v.begin(), v.begin() + h)));
  auto closer = [med](float a, float b) {
    const double da = std::abs(double(a) - med), db = std::abs(double(b) - med);
    return da < db || (da == db && a < b);
  };
  if (beta < n) std::nth_element(v.begin(), v.begin() + (beta - 1), v.end(), closer);
  return static_cast<float>(sum_range(v, 0, beta) / static_cast<double>(beta));
}

namespace {

class Bulyan final : public RobustAggregator {
 public:
  explicit Bulyan(std::optional<std::size_t> f)
      : RobustAggregator(
            "bulyan", f, [](std::size_t n, std::size_t f) { return n >= 4 * f + 3; },
            "n >= 4f + 3") {}
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext& ctx, AggregationReport* report) const override {
    const Canonical c = canonical(updates);
    const std::size_t f = effective_f(c.n, ctx, report);
    const std::size_t theta = std::max<std::size_t>(1, c.n > 2 * f ? c.n - 2 * f : 1);
    const std::size_t beta = std::max<std::size_t>(1, theta > 2 * f ? theta - 2 * f : 1);
    const auto center = gram_center(c.rows, c.dim);
    const auto chosen =
        repeated_krum(squared_distances(gram(c.rows, c.dim, center), c.n), c.n, f, theta);
    std::vector<const float*> rows;
    std::vector<double> trust(c.n, 0.0);
    for (std::size_t k : chosen) rows.push_back(c.rows[k]), trust[k] = 1.0;
    coordinate_wise(rows, out, [&](std::span<float> v) { return closest_to_median_mean(v, beta); });
    set_trust(c, trust, report);
  }
};

}  // namespace

void register_bulyan(AggregatorRegistry& reg) {
  reg.add({"bulyan",
           "repeated Krum selects theta = n - 2f updates, then per coordinate the mean of the "
           "theta - 2f selected values closest to their median (El Mhamdi et al. 2018); ignores "
           "sample weights; trust 1 for the selected, 0 otherwise; bound n >= 4f + 3",
           {f_doc("")}},
          [](const scenario::ParamView& p) { return std::make_unique<Bulyan>(read_f(p)); });
}

}  // namespace ledgerfl::fl::aggs
