// Bucketing: Karimireddy, He & Jaggi 2022, "Byzantine-Robust Learning on Heterogeneous Datasets
// via Bucketing" (ICLR), Alg. 1: randomly permute the n updates, average each of the ceil(n/s)
// buckets of s consecutive ones, and run a robust rule (Krum, CM, RFA, CClip in the paper) on the
// bucket means. Averaging shrinks the honest spread (heterogeneity) by ~sqrt(s) while a Byzantine
// update still pollutes at most one bucket. Two deliberate details: the last bucket (when s does
// not divide n) is averaged over its actual members (Alg. 1 writes 1/s for every bucket, which
// would shrink a short bucket towards 0), and the permutation is drawn from the round's key and
// applied to the canonical (client-id) order, so the rule stays permutation invariant to the bit.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <numeric>

#include "sim/core/rng.hpp"
#include "sim/fl/aggregators/aggregators.hpp"
#include "sim/fl/aggregators/common.hpp"

namespace ledgerfl::fl::aggs {

namespace {

class Bucketing final : public Aggregator {
 public:
  Bucketing(std::unique_ptr<Aggregator> inner, std::size_t s, bool weighted)
      : inner_(std::move(inner)), s_(s), weighted_(weighted) {}
  std::string name() const override { return "bucketing"; }
  using Aggregator::aggregate;
  void aggregate(std::span<const ClientUpdate> updates, std::span<float> out,
                 const AggregationContext& ctx, AggregationReport* report) const override {
    const Canonical c = canonical(updates);
    // order[j] = the canonical index at position j of the round's permutation.
    std::vector<std::size_t> order(c.n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    core::Rng rng(ctx.seed, "bucketing", 0, static_cast<std::uint64_t>(ctx.round));
    rng.shuffle(std::span<std::size_t>(order));
    const std::size_t m = buckets(c.n);
    // Bucket b holds positions [b s, min(n, (b + 1) s)); its mean goes to the inner rule as
    // "client" b, weighted by its members' sample weights (weighted) or their count (plain).
    std::vector<std::vector<float>> means(m, std::vector<float>(c.dim));
    std::vector<ClientUpdate> bucket_updates(m);
    std::vector<std::size_t> bucket_of(c.n);
    for (std::size_t b = 0; b < m; ++b) {
      const std::size_t lo = b * s_, hi = std::min(c.n, lo + s_);
      std::vector<const float*> rows;
      std::vector<double> w;
      double total = 0;
      for (std::size_t j = lo; j < hi; ++j) {
        rows.push_back(c.rows[order[j]]);
        w.push_back(weighted_ ? c.weight[order[j]] : 1.0);
        total += w.back();
        bucket_of[order[j]] = b;
      }
      weighted_mean_rows(rows, w, means[b]);
      bucket_updates[b] = {b, total, means[b]};
    }
    AggregationReport inner_report;
    inner_->aggregate(bucket_updates, out, ctx, report ? &inner_report : nullptr);
    if (!report) return;
    std::vector<double> trust(c.n, 1.0);
    if (inner_report.trust.size() == m)
      for (std::size_t k = 0; k < c.n; ++k) trust[k] = inner_report.trust[bucket_of[k]];
    set_trust(c, trust, report);
    if (!inner_report.note.empty())
      report->note += (report->note.empty() ? "" : "; ") +
                      fmt::format("bucketing ({} buckets): {}", m, inner_report.note);
  }
  // Each Byzantine update pollutes at most one bucket: the inner rule's bound with the bucket
  // count in place of n.
  std::string check(std::size_t n, std::size_t f) const override {
    const std::string msg = inner_->check(buckets(n), f);
    if (msg.empty()) return msg;
    return fmt::format(
        "aggregator bucketing (s = {}) gives its inner rule ceil({} / {}) = {} bucket means: {} "
        "(or lower [aggregator] s)",
        s_, n, s_, buckets(n), msg);
  }
  std::size_t configured_f(std::size_t fallback) const override {
    return inner_->configured_f(fallback);
  }
  bool needs_root_update() const override { return inner_->needs_root_update(); }

 private:
  std::size_t buckets(std::size_t n) const { return (n + s_ - 1) / s_; }
  std::unique_ptr<Aggregator> inner_;
  std::size_t s_;
  bool weighted_;
};

}  // namespace

void register_bucketing(AggregatorRegistry& reg) {
  // The factory looks the inner rule up in the registry that holds it (registries live as long
  // as every factory stored in them).
  const AggregatorRegistry* self = &reg;
  reg.add({"bucketing",
           "keyed random permutation of the updates, mean of each bucket of s, then the inner "
           "rule on the ceil(n/s) bucket means (Karimireddy et al. 2022, Alg. 1); the other keys "
           "of the table are the inner rule's (f, tau, ...); trust of an update = the inner "
           "rule's trust of its bucket; bound: the inner rule's with n = ceil(n/s)",
           {{"s", "int", "2", "updates", "bucket size (1 = the inner rule alone)"},
            {"inner", "string", "\"median\"", "",
             "the robust rule run on the bucket means (the paper pairs bucketing with krum, "
             "median, geometric_median and centered_clipping); not bucketing"},
            {"weighted", "bool", "false", "",
             "bucket means weighted by sample counts (FedAvg-like) instead of the paper's plain "
             "mean; the inner rule sees a bucket's weight as its members' total (weighted) or "
             "their count (plain)"}}},
          [self](const scenario::ParamView& p) -> std::unique_ptr<Aggregator> {
            const auto s = p.integer("s", 2, scenario::Bounds::at_least(1));
            const bool weighted = p.boolean("weighted", false);
            const auto& entry = self->get(p, "inner", "median");
            if (entry.doc.name == "bucketing")
              p.fail("inner",
                     "bucketing cannot be its own inner rule; choose a robust rule such as "
                     "krum, median, geometric_median or centered_clipping");
            return std::make_unique<Bucketing>(entry.factory(p), static_cast<std::size_t>(s),
                                               weighted);
          });
}

}  // namespace ledgerfl::fl::aggs
