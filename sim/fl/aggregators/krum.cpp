// Krum and Multi-Krum: Blanchard, El Mhamdi, Guerraoui, Stainer 2017, "Machine Learning with
// Adversaries: Byzantine Tolerant Gradient Descent" (NeurIPS), Sec. 4: the score of update i is
// the sum of its squared distances to its n - f - 2 nearest other updates; Krum returns the
// update of lowest score, Multi-Krum the mean of the m lowest.
#include <algorithm>
#include <numeric>

#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"
#include "sim/fl/aggregators/coordinate.hpp"
#include "sim/fl/aggregators/krum_scores.hpp"
#include "sim/fl/aggregators/pairwise.hpp"

namespace ledgerfl::fl::aggs {

std::vector<double> krum_scores(const std::vector<double>& d, std::size_t n, std::size_t f) {
  // Neighbours: n - f - 2 (clamped to [1, n - 1] when the bound fails at run time).
  const std::size_t k = n <= 1
                            ? 0
                            : std::clamp<std::ptrdiff_t>(std::ptrdiff_t(n) - std::ptrdiff_t(f) - 2,
                                                         1, std::ptrdiff_t(n) - 1);
  std::vector<double> s(n, 0.0);
  std::vector<double> row;
  for (std::size_t i = 0; i < n; ++i) {
    row.clear();
    for (std::size_t j = 0; j < n; ++j)
      if (j != i) row.push_back(d[i * n + j]);
    if (k == 0) continue;
    std::nth_element(row.begin(), row.begin() + (k - 1), row.end());
    std::sort(row.begin(), row.begin() + k);  // a fixed summation order: ascending
    for (std::size_t t = 0; t < k; ++t) s[i] += row[t];
  }
  return s;
}

std::vector<std::size_t> lowest(const std::vector<double>& score, std::size_t m) {
  std::vector<std::size_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::size_t a, std::size_t b) { return score[a] < score[b]; });
  idx.resize(std::min(m, idx.size()));
  std::sort(idx.begin(), idx.end());
  return idx;
}

namespace {

class Krum final : public RobustAggregator {
 public:
  Krum(bool multi, std::optional<std::size_t> f, std::optional<std::size_t> m)
      : RobustAggregator(
            multi ? "multi_krum" : "krum", f,
            [](std::size_t n, std::size_t f) { return n > 2 * f + 2; }, "n > 2f + 2"),
        multi_(multi),
        m_(m) {}
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext& ctx, AggregationReport* report) const override {
    const Canonical c = canonical(updates);
    const std::size_t f = effective_f(c.n, ctx, report);
    const auto center = gram_center(c.rows, c.dim);
    const auto score = krum_scores(squared_distances(gram(c.rows, c.dim, center), c.n), c.n, f);
    const std::size_t m = !multi_ ? 1 : std::clamp<std::size_t>(m_ ? *m_ : c.n - f, 1, c.n);
    const auto keep = lowest(score, m);
    std::vector<const float*> rows;
    std::vector<double> trust(c.n, 0.0);
    for (std::size_t k : keep) rows.push_back(c.rows[k]), trust[k] = 1.0;
    weighted_mean_rows(rows, std::vector<double>(rows.size(), 1.0), out);
    set_trust(c, trust, report);
  }

 private:
  bool multi_;
  std::optional<std::size_t> m_;
};

}  // namespace

void register_krum(AggregatorRegistry& reg) {
  reg.add({"krum",
           "the update with the smallest sum of squared distances to its n - f - 2 nearest "
           "neighbours (Blanchard et al. 2017); ignores sample weights; trust 1 for the chosen "
           "update, 0 otherwise; bound n > 2f + 2",
           {f_doc("")}},
          [](const scenario::ParamView& p) {
            return std::make_unique<Krum>(false, read_f(p), std::nullopt);
          });
  reg.add(
      {"multi_krum",
       "unweighted mean of the m updates of lowest Krum score (Blanchard et al. 2017); trust 1 "
       "for the selected, 0 otherwise; bound n > 2f + 2",
       {f_doc(""),
        {"m", "int", "", "updates",
         "updates averaged (optional; absent = n - f; clamped to [1, n])"}}},
      [](const scenario::ParamView& p) {
        auto f = read_f(p);
        std::optional<std::size_t> m;
        if (p.has("m"))
          m = static_cast<std::size_t>(p.integer("m", std::nullopt, scenario::Bounds::at_least(1)));
        else
          p.mark_used("m");
        return std::make_unique<Krum>(true, f, m);
      });
}

}  // namespace ledgerfl::fl::aggs
