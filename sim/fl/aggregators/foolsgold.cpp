// FoolsGold: Fung, Yoon, Beschastnikh 2020, "The Limitations of Federated Learning in Sybil
// Settings" (RAID), Alg. 1: cosine similarity of the clients' (cumulative) updates, pardoning
// (cs_ij *= v_i / v_j when v_j > v_i, v = each client's maximum similarity), alpha_i =
// 1 - max_j cs_ij rescaled so the largest is 1, then the logit alpha_i = kappa (ln(alpha_i /
// (1 - alpha_i)) + 0.5) clipped to [0, 1]; the aggregate is the alpha-weighted mean.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"
#include "sim/fl/aggregators/pairwise.hpp"

namespace ledgerfl::fl::aggs {

// FoolsGold's learning-rate factors from an n x n cosine matrix (Fung et al. 2020, Alg. 1).
std::vector<double> foolsgold_alpha(std::vector<double> cs, std::size_t n, double kappa) {
  if (n == 1) return {1.0};
  std::vector<double> v(n, -std::numeric_limits<double>::infinity());
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      if (i != j) v[i] = std::max(v[i], cs[i * n + j]);
  std::vector<double> alpha(n);
  for (std::size_t i = 0; i < n; ++i) {
    double mx = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < n; ++j) {
      if (i == j) continue;
      double s = cs[i * n + j];
      if (v[j] > v[i] && v[j] > 0) s *= v[i] / v[j];  // pardoning
      mx = std::max(mx, s);
    }
    alpha[i] = std::clamp(1.0 - mx, 0.0, 1.0);
  }
  const double top = *std::max_element(alpha.begin(), alpha.end());
  for (double& a : alpha) {
    if (top <= 0) {
      a = 0;
      continue;
    }
    a = std::min(a / top, 0.99);  // alpha = 1 -> 0.99 keeps the logit finite
    a = a <= 0 ? 0.0 : std::clamp(kappa * (std::log(a / (1.0 - a)) + 0.5), 0.0, 1.0);
  }
  return alpha;
}

namespace {

class FoolsGold final : public RobustAggregator {
 public:
  FoolsGold(std::optional<std::size_t> f, bool history, double kappa)
      : RobustAggregator(
            "foolsgold", f, [](std::size_t, std::size_t) { return true; }, ""),
        history_(history),
        kappa_(kappa) {}
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext& ctx, AggregationReport* report) const override {
    const Canonical c = canonical(updates);
    std::vector<const float*> h = c.rows;
    std::vector<std::vector<float>> with_round;  // a subset's view: history + this delta
    if (history_ && !ctx.round_result) {
      // An aggregation of a subset (contribution scores) reads the history without adding to it.
      with_round.resize(c.n);
      for (std::size_t k = 0; k < c.n; ++k) {
        with_round[k].assign(c.rows[k], c.rows[k] + c.dim);
        auto it = hist_.find(updates[c.given[k]].client);
        if (it != hist_.end() && it->second.sum.size() == c.dim && it->second.round != ctx.round)
          for (std::size_t i = 0; i < c.dim; ++i) with_round[k][i] += it->second.sum[i];
        else if (it != hist_.end() && it->second.sum.size() == c.dim)
          with_round[k] = it->second.sum;
        h[k] = with_round[k].data();
      }
    } else if (history_) {
      // A client's history adds its delta once per round (repeated calls of one round, e.g. on
      // subsets for contribution scores, see the same history).
      for (std::size_t k = 0; k < c.n; ++k) {
        auto& e = hist_[updates[c.given[k]].client];
        if (e.sum.size() != c.dim) e.sum.assign(c.dim, 0.0f), e.round = ctx.round - 1;
        if (e.round != ctx.round) {
          for (std::size_t i = 0; i < c.dim; ++i) e.sum[i] += c.rows[k][i];
          e.round = ctx.round;
        }
        h[k] = e.sum.data();
      }
    }
    const auto alpha = foolsgold_alpha(cosines(gram(h, c.dim), c.n), c.n, kappa_);
    weighted_mean_rows(c.rows, alpha, out);
    set_trust(c, share_ratio(c, alpha), report);
  }

 private:
  struct History {
    std::vector<float> sum;
    std::int64_t round = 0;
  };
  bool history_;
  double kappa_;
  mutable std::map<std::size_t, History> hist_;  // calls are sequential
};

}  // namespace

void register_foolsgold(AggregatorRegistry& reg) {
  reg.add({"foolsgold",
           "alpha-weighted mean, alpha from pairwise cosine similarity with pardoning and logit "
           "(Fung et al. 2020); ignores sample weights; identical updates look like Sybils and "
           "get weight 0; trust = alpha's share over the FedAvg share; with history = true the "
           "rule keeps every client's cumulative delta: memory = clients seen x P x 4 B",
           {f_doc("not used (no bound)"),
            {"history", "bool", "false", "",
             "compare cumulative per-client updates (true) or this round's updates (false)"},
            {"kappa", "float", "1.0", "", "confidence of the logit"}}},
          [](const scenario::ParamView& p) {
            auto f = read_f(p);
            const bool h = p.boolean("history", false);
            const double kappa = p.number("kappa", 1.0, scenario::Bounds::positive());
            return std::make_unique<FoolsGold>(f, h, kappa);
          });
}

}  // namespace ledgerfl::fl::aggs
