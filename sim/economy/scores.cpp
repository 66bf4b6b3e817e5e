// Built-in contribution scores: accepted, cosine, accuracy gain, leave-one-out, Monte-Carlo and
// exact Shapley values, with a per-call cache of subset utilities.
#include "sim/economy/scores.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>

namespace ledgerfl::economy {

namespace {

void check_sizes(std::string_view who, const ScoreInput& in) {
  if (!in.weights.empty() && in.weights.size() != in.deltas.size())
    throw std::invalid_argument(std::string(who) + ": " + std::to_string(in.weights.size()) +
                                " weights for " + std::to_string(in.deltas.size()) + " updates");
}

Utility& need_utility(std::string_view who, const ScoreInput& in) {
  if (!in.utility)
    throw std::invalid_argument(std::string(who) +
                                " needs a utility (model evaluations); none was given");
  return *in.utility;
}

// u(S) with memory: the key is the subset as a bitset over the n positions.
class CachedUtility {
 public:
  CachedUtility(Utility& u, std::size_t n) : u_(u), words_((n + 63) / 64) {}

  double operator()(std::span<const std::size_t> sorted_subset) {
    std::vector<std::uint64_t> key(words_, 0);
    for (std::size_t i : sorted_subset) key[i / 64] |= std::uint64_t{1} << (i % 64);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    const double v = u_(sorted_subset);
    ++evaluations_;
    cache_.emplace(std::move(key), v);
    return v;
  }
  std::int64_t evaluations() const { return evaluations_; }

 private:
  Utility& u_;
  std::size_t words_;
  std::map<std::vector<std::uint64_t>, double> cache_;
  std::int64_t evaluations_ = 0;
};

std::vector<std::size_t> all_positions(std::size_t n) {
  std::vector<std::size_t> v(n);
  std::iota(v.begin(), v.end(), std::size_t{0});
  return v;
}

class Accepted final : public ContributionScore {
 public:
  std::string_view name() const override { return "accepted"; }
  ScoreResult score(const ScoreInput& in) const override {
    check_sizes(name(), in);
    return {std::vector<double>(in.deltas.size(), 1.0), 0};
  }
};

class Cosine final : public ContributionScore {
 public:
  std::string_view name() const override { return "cosine"; }
  ScoreResult score(const ScoreInput& in) const override {
    check_sizes(name(), in);
    double agg_sq = 0.0;
    for (float x : in.aggregate) agg_sq += static_cast<double>(x) * x;
    ScoreResult r;
    r.scores.resize(in.deltas.size(), 0.0);
    for (std::size_t i = 0; i < in.deltas.size(); ++i) {
      const auto d = in.deltas[i];
      if (d.size() != in.aggregate.size())
        throw std::invalid_argument("cosine: update " + std::to_string(i) + " has " +
                                    std::to_string(d.size()) + " values, the aggregate " +
                                    std::to_string(in.aggregate.size()));
      double dot = 0.0, sq = 0.0;
      for (std::size_t k = 0; k < d.size(); ++k) {
        dot += static_cast<double>(d[k]) * in.aggregate[k];
        sq += static_cast<double>(d[k]) * d[k];
      }
      if (sq > 0.0 && agg_sq > 0.0)
        r.scores[i] = std::clamp(dot / (std::sqrt(sq) * std::sqrt(agg_sq)), -1.0, 1.0);
    }
    return r;
  }
};

class AccuracyGain final : public ContributionScore {
 public:
  std::string_view name() const override { return "accuracy_gain"; }
  bool needs_utility() const override { return true; }
  ScoreResult score(const ScoreInput& in) const override {
    check_sizes(name(), in);
    const std::size_t n = in.deltas.size();
    ScoreResult r;
    if (n == 0) return r;
    CachedUtility u(need_utility(name(), in), n);
    const double base = u({});
    r.scores.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t s[1] = {i};
      r.scores[i] = u(s) - base;
    }
    r.evaluations = u.evaluations();
    return r;
  }
};

class LeaveOneOut final : public ContributionScore {
 public:
  std::string_view name() const override { return "loo"; }
  bool needs_utility() const override { return true; }
  ScoreResult score(const ScoreInput& in) const override {
    check_sizes(name(), in);
    const std::size_t n = in.deltas.size();
    ScoreResult r;
    if (n == 0) return r;
    CachedUtility u(need_utility(name(), in), n);
    const auto all = all_positions(n);
    const double full = u(all);
    r.scores.resize(n);
    std::vector<std::size_t> rest;
    for (std::size_t i = 0; i < n; ++i) {
      rest.clear();
      for (std::size_t j = 0; j < n; ++j)
        if (j != i) rest.push_back(j);
      r.scores[i] = full - u(rest);
    }
    r.evaluations = u.evaluations();
    return r;
  }
};

}  // namespace

ShapleyMc::ShapleyMc(std::int64_t permutations, double truncation)
    : permutations_(permutations), truncation_(truncation) {
  if (permutations < 1)
    throw std::invalid_argument("shapley_mc: permutations = " + std::to_string(permutations) +
                                " must be >= 1");
  if (!(truncation >= 0.0) || !std::isfinite(truncation))
    throw std::invalid_argument("shapley_mc: truncation = " + std::to_string(truncation) +
                                " must be >= 0");
}

// TMC-Shapley (Ghorbani & Zou 2019, "Data Shapley", Alg. 1): for each random permutation, add
// the updates one by one and credit each with its marginal utility; once the prefix's utility
// is within truncation * |u(all)| of u(all), the remaining marginals are taken as 0 and not
// evaluated. The first check happens before any update is added, so a round whose whole
// aggregate changes the utility by less than the tolerance costs two evaluations (GTG-Shapley's
// between-round truncation, Liu et al. 2022). Prefixes shared by permutations hit the cache.
ScoreResult ShapleyMc::score(const ScoreInput& in) const {
  check_sizes(name(), in);
  const std::size_t n = in.deltas.size();
  ScoreResult r;
  if (n == 0) return r;
  if (!in.rng) throw std::invalid_argument("shapley_mc needs a random stream; none was given");
  CachedUtility u(need_utility(name(), in), n);
  const double empty = u({});
  const double full = u(all_positions(n));
  const double tol = truncation_ * std::abs(full);
  std::vector<double> phi(n, 0.0);
  std::vector<std::size_t> perm(n), prefix;
  prefix.reserve(n);
  for (std::int64_t t = 0; t < permutations_; ++t) {
    std::iota(perm.begin(), perm.end(), std::size_t{0});
    in.rng->shuffle(std::span<std::size_t>(perm));
    prefix.clear();
    double prev = empty;
    for (std::size_t j = 0; j < n; ++j) {
      if (std::abs(full - prev) < tol) break;  // truncated: the rest get 0
      const std::size_t i = perm[j];
      prefix.insert(std::upper_bound(prefix.begin(), prefix.end(), i), i);
      const double v = u(prefix);
      phi[i] += v - prev;
      prev = v;
    }
  }
  for (double& p : phi) p /= static_cast<double>(permutations_);
  r.scores = std::move(phi);
  r.evaluations = u.evaluations();
  return r;
}

// phi_i = sum over S not containing i of |S|! (n - |S| - 1)! / n! * (u(S + i) - u(S)).
ScoreResult ShapleyExact::score(const ScoreInput& in) const {
  check_sizes(name(), in);
  const std::size_t n = in.deltas.size();
  if (n > kMaxClients)
    throw std::invalid_argument("shapley_exact: " + std::to_string(n) + " updates need 2^" +
                                std::to_string(n) + " utility evaluations; at most " +
                                std::to_string(kMaxClients) +
                                " updates are allowed (use shapley_mc)");
  ScoreResult r;
  if (n == 0) return r;
  Utility& util = need_utility(name(), in);
  const std::size_t subsets = std::size_t{1} << n;
  std::vector<double> u(subsets);
  std::vector<std::size_t> s;
  for (std::size_t mask = 0; mask < subsets; ++mask) {
    s.clear();
    for (std::size_t i = 0; i < n; ++i)
      if (mask >> i & 1) s.push_back(i);
    u[mask] = util(s);
  }
  // Weights by subset size; factorials up to 16! are exact in a double.
  std::vector<double> fact(n + 1, 1.0);
  for (std::size_t k = 1; k <= n; ++k) fact[k] = fact[k - 1] * static_cast<double>(k);
  std::vector<double> w(n);
  for (std::size_t k = 0; k < n; ++k) w[k] = fact[k] * fact[n - k - 1] / fact[n];
  r.scores.assign(n, 0.0);
  for (std::size_t mask = 0; mask < subsets; ++mask) {
    const auto size = static_cast<std::size_t>(__builtin_popcountll(mask));
    for (std::size_t i = 0; i < n; ++i)
      if (!(mask >> i & 1)) r.scores[i] += w[size] * (u[mask | std::size_t{1} << i] - u[mask]);
  }
  r.evaluations = static_cast<std::int64_t>(subsets);
  return r;
}

void register_builtin_scores(ScoreRegistry& reg) {
  reg.add({"accepted", "1 for every included update (equal split); 0 model evaluations", {}},
          [](const scenario::ParamView&) { return std::make_unique<Accepted>(); });
  reg.add({"cosine", "cosine similarity of the update to the round's aggregate; 0 evaluations", {}},
          [](const scenario::ParamView&) { return std::make_unique<Cosine>(); });
  reg.add({"accuracy_gain",
           "u({i}) - u({}): utility gain of the global model plus this update alone; n + 1 "
           "evaluations",
           {}},
          [](const scenario::ParamView&) { return std::make_unique<AccuracyGain>(); });
  reg.add({"loo", "leave-one-out u(all) - u(all without i); n + 1 evaluations", {}},
          [](const scenario::ParamView&) { return std::make_unique<LeaveOneOut>(); });
  reg.add({"shapley_mc",
           "Monte-Carlo permutation Shapley value with truncation (TMC-Shapley, Ghorbani & Zou "
           "2019; GTG-Shapley, Liu et al. 2022); <= permutations * n + 2 evaluations",
           {{"permutations", "int", "50", "", "random permutations sampled per round (>= 1)"},
            {"truncation", "float", "0.01", "",
             "stop a permutation once |u(all) - u(prefix)| < truncation * |u(all)| (0 = never)"}}},
          [](const scenario::ParamView& p) {
            const auto t = p.integer("permutations", 50, scenario::Bounds::at_least(1));
            const double tr = p.number("truncation", 0.01, scenario::Bounds::non_negative());
            return std::make_unique<ShapleyMc>(t, tr);
          });
  reg.add({"shapley_exact",
           "exact Shapley value over all 2^n subsets (Shapley 1953); refuses n > 16",
           {}},
          [](const scenario::ParamView&) { return std::make_unique<ShapleyExact>(); });
}

}  // namespace ledgerfl::economy
