// Shared pieces of the robust aggregation rules: canonical (client-id) order, the `f` key and
// its bound check, deterministic parallel kernels (linear combinations, norms), trust mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sim/fl/aggregator.hpp"

namespace ledgerfl::fl::aggs {

// The updates sorted by client id. Every rule computes only in this order, which makes the result
// independent of the order the updates were given in (permutation invariance to the bit).
struct Canonical {
  std::vector<std::size_t> given;  // given[k] = position in the caller's span of canonical #k
  std::vector<const float*> rows;  // rows[k] = canonical #k's delta
  std::vector<double> weight;      // FedAvg sample weights, canonical order
  std::size_t n = 0, dim = 0;
};
Canonical canonical(std::span<const ClientUpdate> updates);

// Writes report->trust in the caller's order from values given in canonical order, clipped to
// [0, 1]. No-op if report is null.
void set_trust(const Canonical& c, std::span<const double> trust, AggregationReport* report);
// Trust of a down-weighting rule: the ratio of the weight it used (used[k] / sum used) to the
// FedAvg share (w_k / sum w), clipped to [0, 1].
std::vector<double> share_ratio(const Canonical& c, std::span<const double> used);

// out = sum_k coef[k] * rows[k] (coef in the rows' order), accumulated per coordinate in double
// in the rows' order, parallel over fixed coordinate blocks: the same bits for any thread count.
void linear_combination(std::span<const float* const> rows, std::span<const double> coef,
                        std::span<float> out);
// Mean of the rows with weights (normalised to sum 1; all-zero weights give a zero output).
void weighted_mean_rows(std::span<const float* const> rows, std::span<const double> w,
                        std::span<float> out);
// ||rows[k] - center|| (center may be empty = 0), each a sequential double sum, parallel over k.
std::vector<double> norms(std::span<const float* const> rows, std::size_t dim,
                          std::span<const float> center = {});
// Adds N(0, sigma^2) to every coordinate; chunk c of 4096 coordinates draws from
// core::Rng(seed, purpose, c, round), so the noise does not depend on the thread count.
void add_gaussian_noise(std::span<float> out, double sigma, std::uint64_t seed,
                        std::string_view purpose, std::int64_t round);
// Median of values (the mean of the two middle ones for an even count); values is reordered.
double median_of(std::vector<double> values);

// The `f` key every robust rule has (int >= 0, optional: absent = the coordinator's expected
// Byzantine count ctx.byzantine).
std::optional<std::size_t> read_f(const scenario::ParamView& p);
scenario::ParamDoc f_doc(const std::string& use);

// Base of the robust rules: configured_f, check() from a bound predicate, and the run-time
// lowering of f for a small round (a note in the report, never an exception).
class RobustAggregator : public Aggregator {
 public:
  // bound(n, f) says whether the rule's guarantee holds; bound_text is its formula
  // ("n > 2f + 2"); an empty bound_text means the rule has no bound on f.
  RobustAggregator(std::string name, std::optional<std::size_t> f,
                   std::function<bool(std::size_t, std::size_t)> bound, std::string bound_text);
  std::string name() const override { return name_; }
  std::size_t configured_f(std::size_t fallback) const override { return f_ ? *f_ : fallback; }
  std::string check(std::size_t n, std::size_t f) const override;

 protected:
  // The f to use for a round of n updates: configured_f(ctx.byzantine), lowered to the largest
  // value the bound admits (a note in report->note when lowered). 0 if even 0 fails the bound.
  std::size_t effective_f(std::size_t n, const AggregationContext& ctx,
                          AggregationReport* report) const;

 private:
  std::string name_;
  std::optional<std::size_t> f_;
  std::function<bool(std::size_t, std::size_t)> bound_;
  std::string bound_text_;
};

}  // namespace ledgerfl::fl::aggs
