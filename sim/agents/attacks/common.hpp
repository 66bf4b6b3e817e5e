// Shared pieces of the built-in attacks: statistics over known updates, the inverse normal CDF,
// backdoor triggers, Krum scores and the AGR-agnostic gamma search (exposed for the tests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "models/data/dataset.hpp"
#include "sim/agents/attack.hpp"
#include "sim/core/rng.hpp"
#include "sim/scenario/params.hpp"

namespace ledgerfl::agents::attacks {

using Updates = std::span<const std::span<const float>>;

// Phi^{-1}(p), the standard normal quantile: Acklam's rational approximation (relative error
// 1.15e-9) refined by one Halley step on erfc, which brings it to ~1e-15. p <= 0 gives -inf,
// p >= 1 gives +inf.
double inverse_normal_cdf(double p);

// Per-coordinate mean and population standard deviation (divisor k) of the updates, summed in
// index order in double. All updates must have the same length; empty input gives empty output.
std::vector<double> coordinate_mean(Updates u);
std::vector<double> coordinate_std(Updates u, std::span<const double> mean);

// Squared Euclidean distances between every pair of updates, k x k row-major, accumulated in
// double. Up to kGramThreshold updates they are summed directly; above, from a Gram matrix of
// the centred updates (one Eigen GEMM, float, so ~1e-6 relative error), d_ij = G_ii + G_jj - 2G_ij.
inline constexpr std::size_t kGramThreshold = 32;
std::vector<double> pairwise_sq_distances(Updates u);
// C C^T for the centred updates C (k x k row-major), one float Eigen GEMM widened to double.
std::vector<double> centred_gram(Updates u);
std::vector<double> pairwise_sq_distances_direct(Updates u);
std::vector<double> pairwise_sq_distances_gram(Updates u);

// Krum (Blanchard et al. 2017, Alg. 1): the score of i is the sum of its m - f - 2 smallest
// squared distances to the others (at least 1, at most m - 1); returns the index of the
// smallest score, the lowest index on a tie. dist2 is m x m row-major.
std::size_t krum_select(std::span<const double> dist2, std::size_t m, std::size_t f);

// AGR-agnostic attacks of Shejwalkar & Houmansadr 2021 (NDSS), Alg. 1: the largest gamma such
// that mean + gamma * p satisfies the oracle, found by bracketing (gamma_init, doubled while it
// still satisfies the oracle, our addition so that the answer does not cap at ~gamma_init) then
// halving the step until the bracket is below tau. min_max oracle: max_i ||m - g_i||^2 <=
// max_ij ||g_i - g_j||^2; min_sum oracle: sum_i ||m - g_i||^2 <= max_i sum_j ||g_i - g_j||^2.
// Returned gamma satisfies the oracle and gamma + tau does not (the feasible set is an interval
// [0, gamma*] as the distances are convex in gamma and gamma = 0 is feasible).
enum class AgrOracle { kMinMax, kMinSum };
double agr_tailored_gamma(Updates known, std::span<const double> mean, std::span<const double> p,
                          AgrOracle oracle, double gamma_init, double tau);
// Whether mean + gamma * p satisfies the oracle, evaluated directly (for the tests).
bool agr_oracle_holds(Updates known, std::span<const double> mean, std::span<const double> p,
                      AgrOracle oracle, double gamma);

// A backdoor trigger: the feature indices it sets (ascending) and the value it sets them to.
struct Trigger {
  std::vector<std::uint32_t> pixels;
  float value = 1.0f;
};
// Reads trigger ("square" | "pattern"), size, value, position. If input_dim is a perfect
// square the image is side x side and the trigger is a size x size box at the corner
// `position` (square: every pixel of the box; pattern: the checkerboard cells (r + c) even of
// the box); otherwise the box is the last `size` features. BadNets, Gu et al. 2017, Sec. 3.
Trigger read_trigger(const scenario::ParamView& p, int input_dim);
// The ParamDocs read_trigger reads (appended to an entry's docs).
std::vector<scenario::ParamDoc> trigger_docs();

// Sets the trigger pixels and the target label on round(fraction * rows) distinct rows chosen
// by a partial Fisher-Yates shuffle drawn from rng.
void poison_rows(std::span<float> features, int dim, std::span<std::int32_t> labels,
                 std::span<const std::uint32_t> pixels, float value, std::int32_t target,
                 double fraction, core::Rng& rng);
// Success set of a backdoor: the test rows whose label != target, triggered, labelled target.
void triggered_success_set(const data::Dataset& test, std::span<const std::uint32_t> pixels,
                           float value, std::int32_t target, data::Dataset& out);

// Base of the backdoor family (backdoor, dba, model_replacement, neurotoxin): data poisoning
// with a trigger; subclasses may pick the pixels per identity (DBA) and rewrite the update.
class TriggerAttack : public ClientAttack {
 public:
  TriggerAttack(Trigger trigger, std::int32_t target, double poison_fraction, int input_dim)
      : trigger_(std::move(trigger)),
        target_(target),
        poison_fraction_(poison_fraction),
        input_dim_(input_dim) {}
  bool poisons_data() const override { return true; }
  void poison(std::size_t identity, std::size_t num_identities, std::int64_t round,
              std::span<float> features, int dim, std::span<std::int32_t> labels,
              core::Rng& rng) const override;
  bool success_set(const data::Dataset& test, data::Dataset& out) const override;
  const Trigger& trigger() const { return trigger_; }
  std::int32_t target() const { return target_; }

 protected:
  // The pixels identity k stamps on its rows (the whole trigger unless overridden).
  virtual std::span<const std::uint32_t> pixels_for(std::size_t identity) const {
    (void)identity;
    return trigger_.pixels;
  }

 private:
  Trigger trigger_;
  std::int32_t target_;
  double poison_fraction_;
  int input_dim_;
};

// Reads `target` and `poison_fraction` (documented by backdoor_docs()).
std::int32_t read_target(const scenario::ParamView& p, int classes);
double read_poison_fraction(const scenario::ParamView& p);
std::vector<scenario::ParamDoc> backdoor_docs();  // trigger_docs() + target + poison_fraction

// Per-attack closed forms, exposed for the tests (defined in the attack's file).
// ALIE's z from n updates and f malicious (alie.cpp).
double alie_z(std::size_t n, std::size_t f);
// Fang et al.'s trimmed-mean sampling interval for one coordinate (fang_trim.cpp).
struct FangInterval {
  double lo, hi;
};
FangInterval fang_trim_interval(double mean, double w_min, double w_max, double b);
// The lambda fang_krum submits -lambda * s with, for c crafted copies (fang_krum.cpp).
double fang_krum_lambda(Updates known, std::span<const double> s, std::size_t c);
// The index of the benign update mimic copies (mimic.cpp).
std::size_t mimic_choice(Updates known, std::uint64_t seed, std::int64_t round);

// Writes v (double) into every update of `mine` as float.
void write_all(std::span<const std::span<float>> mine, std::span<const double> v);

}  // namespace ledgerfl::agents::attacks
