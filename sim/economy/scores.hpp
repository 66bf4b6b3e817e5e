// Contribution scores (registry "contribution_score"): how much each included update of a round
// is worth, for splitting the reward pool and updating reputations. Each reports its cost in
// model evaluations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "sim/core/rng.hpp"
#include "sim/scenario/registry.hpp"

namespace ledgerfl::economy {

// u(S): utility of the model global + aggregate of the updates in S (S = positions, sorted);
// u({}) is the utility of the unchanged global model. The caller implements it (the learner
// evaluates on the validators' validation set); each call is one model evaluation.
class Utility {
 public:
  virtual ~Utility() = default;
  virtual double operator()(std::span<const std::size_t> subset) = 0;
};

struct ScoreInput {
  std::span<const std::span<const float>> deltas;  // the n included updates
  std::span<const double> weights;                 // their aggregation weights (n, or empty)
  std::span<const float> aggregate;                // the aggregate of all n
  Utility* utility = nullptr;                      // may be null for scores that need none
  core::Rng* rng = nullptr;                        // for the sampling scores (shapley_mc)
};

struct ScoreResult {
  std::vector<double> scores;    // one per included update, in input order
  std::int64_t evaluations = 0;  // calls of the utility actually made (cache misses)
};

// Within one score() call the utility of a subset is evaluated at most once (a cache keyed by
// the subset), and `evaluations` counts only real calls. Scores that need a utility (or an
// rng) throw std::invalid_argument when it is null; so do mismatched sizes.
class ContributionScore {
 public:
  virtual ~ContributionScore() = default;
  virtual std::string_view name() const = 0;
  virtual ScoreResult score(const ScoreInput& in) const = 0;
  virtual bool needs_utility() const { return false; }  // lets the caller skip building one
};

// The entries (also constructible directly):
//   accepted       1 for each included update; 0 evaluations.
//   cosine         cos(delta_i, aggregate) in [-1, 1] (0 if either is the zero vector).
//   accuracy_gain  u({i}) - u({}); n + 1 evaluations.
//   loo            leave-one-out u(all) - u(all \ {i}); n + 1 evaluations.
//   shapley_mc     Monte-Carlo permutation Shapley with truncation (TMC-Shapley, Ghorbani & Zou
//                  2019, Alg. 1; GTG-Shapley, Liu et al. 2022, within-round truncation).
//   shapley_exact  all 2^n subsets (Shapley 1953); refuses n > 16.
class ShapleyMc final : public ContributionScore {
 public:
  // permutations >= 1; truncation >= 0 (0 = never truncate).
  ShapleyMc(std::int64_t permutations, double truncation);
  std::string_view name() const override { return "shapley_mc"; }
  ScoreResult score(const ScoreInput& in) const override;
  bool needs_utility() const override { return true; }

 private:
  std::int64_t permutations_;
  double truncation_;
};

class ShapleyExact final : public ContributionScore {
 public:
  static constexpr std::size_t kMaxClients = 16;
  std::string_view name() const override { return "shapley_exact"; }
  ScoreResult score(const ScoreInput& in) const override;
  bool needs_utility() const override { return true; }
};

using ScoreFactory = std::function<std::unique_ptr<ContributionScore>(const scenario::ParamView&)>;
using ScoreRegistry = scenario::Registry<ScoreFactory>;

// accepted, cosine, accuracy_gain, loo, shapley_mc, shapley_exact.
void register_builtin_scores(ScoreRegistry& reg);

}  // namespace ledgerfl::economy
