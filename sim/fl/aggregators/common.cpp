// Shared pieces of the robust aggregation rules (see common.hpp).
#include "sim/fl/aggregators/common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "sim/core/parallel.hpp"
#include "sim/core/rng.hpp"

namespace ledgerfl::fl::aggs {

Canonical canonical(std::span<const ClientUpdate> updates) {
  Canonical c;
  c.n = updates.size();
  c.dim = updates.empty() ? 0 : updates[0].delta.size();
  c.given.resize(c.n);
  std::iota(c.given.begin(), c.given.end(), std::size_t{0});
  std::sort(c.given.begin(), c.given.end(),
            [&](std::size_t a, std::size_t b) { return updates[a].client < updates[b].client; });
  for (std::size_t k : c.given) {
    c.rows.push_back(updates[k].delta.data());
    c.weight.push_back(updates[k].weight);
  }
  return c;
}

void set_trust(const Canonical& c, std::span<const double> trust, AggregationReport* report) {
  if (!report) return;
  report->trust.assign(c.n, 0.0);
  for (std::size_t k = 0; k < c.n; ++k)
    report->trust[c.given[k]] = std::clamp(std::isfinite(trust[k]) ? trust[k] : 0.0, 0.0, 1.0);
}

std::vector<double> share_ratio(const Canonical& c, std::span<const double> used) {
  double su = 0, sw = 0;
  for (std::size_t k = 0; k < c.n; ++k) su += used[k], sw += c.weight[k];
  std::vector<double> t(c.n, 0.0);
  if (su <= 0 || sw <= 0) return t;
  for (std::size_t k = 0; k < c.n; ++k)
    t[k] = c.weight[k] > 0 ? std::clamp((used[k] / su) / (c.weight[k] / sw), 0.0, 1.0)
                         : (used[k] > 0 ? 1.0 : 0.0);
  return t;
}

void linear_combination(std::span<const float* const> rows, std::span<const double> coef,
                        std::span<float> out) {
  // Per coordinate: acc = (((0 + c0 r0) + c1 r1) + ...) in the rows' order whatever the blocking;
  // four rows at a time only to keep the accumulator in registers.
  constexpr std::size_t kBlock = 2048;
  const std::size_t m = rows.size();
  core::parallel_for_chunks(out.size(), kBlock, [&](std::size_t lo, std::size_t hi) {
    double acc[kBlock];
    const std::size_t len = hi - lo;
    std::fill(acc, acc + len, 0.0);
    std::size_t k = 0;
    for (; k + 4 <= m; k += 4) {
      const float* d0 = rows[k] + lo;
      const float* d1 = rows[k + 1] + lo;
      const float* d2 = rows[k + 2] + lo;
      const float* d3 = rows[k + 3] + lo;
      const double w0 = coef[k], w1 = coef[k + 1], w2 = coef[k + 2], w3 = coef[k + 3];
      for (std::size_t i = 0; i < len; ++i) {
        double a = acc[i];
        a += w0 * d0[i];
        a += w1 * d1[i];
        a += w2 * d2[i];
        a += w3 * d3[i];
        acc[i] = a;
      }
    }
    for (; k < m; ++k) {
      const float* d = rows[k] + lo;
      const double wk = coef[k];
      for (std::size_t i = 0; i < len; ++i) acc[i] += wk * d[i];
    }
    for (std::size_t i = 0; i < len; ++i) out[lo + i] = static_cast<float>(acc[i]);
  });
}

void weighted_mean_rows(std::span<const float* const> rows, std::span<const double> w,
                        std::span<float> out) {
  double total = 0;
  for (double x : w) total += x;
  std::vector<double> coef(w.size(), 0.0);
  if (total > 0)
    for (std::size_t k = 0; k < w.size(); ++k) coef[k] = w[k] / total;
  linear_combination(rows, coef, out);
}

std::vector<double> norms(std::span<const float* const> rows, std::size_t dim,
                          std::span<const float> center) {
  std::vector<double> r(rows.size());
  core::parallel_for(rows.size(), [&](std::size_t k) {
    const float* x = rows[k];
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;  // four fixed lanes, combined in a fixed order
    std::size_t i = 0;
    if (center.empty()) {
      for (; i + 4 <= dim; i += 4) {
        s0 += double(x[i]) * x[i];
        s1 += double(x[i + 1]) * x[i + 1];
        s2 += double(x[i + 2]) * x[i + 2];
        s3 += double(x[i + 3]) * x[i + 3];
      }
      for (; i < dim; ++i) s0 += double(x[i]) * x[i];
    } else {
      const float* c = center.data();
      for (; i + 4 <= dim; i += 4) {
        const double a = double(x[i]) - c[i], b = double(x[i + 1]) - c[i + 1];
        const double e = double(x[i + 2]) - c[i + 2], g = double(x[i + 3]) - c[i + 3];
        s0 += a * a, s1 += b * b, s2 += e * e, s3 += g * g;
      }
      for (; i < dim; ++i) {
        const double a = double(x[i]) - c[i];
        s0 += a * a;
      }
    }
    r[k] = std::sqrt((s0 + s1) + (s2 + s3));
  });
  return r;
}

void add_gaussian_noise(std::span<float> out, double sigma, std::uint64_t seed,
                        std::string_view purpose, std::int64_t round) {
  if (!(sigma > 0)) return;
  constexpr std::size_t kChunk = 4096;
  const std::uint64_t pid = core::purpose_id(purpose);
  core::parallel_for_chunks(out.size(), kChunk, [&](std::size_t lo, std::size_t hi) {
    core::Rng rng(seed, pid, lo / kChunk, static_cast<std::uint64_t>(round));
    for (std::size_t i = lo; i < hi; ++i)
      out[i] = static_cast<float>(out[i] + sigma * rng.normal());
  });
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0.0;
  const std::size_t h = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + h, v.end());
  const double hi = v[h];
  if (v.size() % 2 == 1) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + h);
  return 0.5 * (lo + hi);
}

std::optional<std::size_t> read_f(const scenario::ParamView& p) {
  if (!p.has("f")) {
    p.mark_used("f");
    return std::nullopt;
  }
  return static_cast<std::size_t>(p.integer("f", std::nullopt, scenario::Bounds::non_negative()));
}

scenario::ParamDoc f_doc(const std::string& use) {
  return {"f", "int", "", "updates",
          "Byzantine updates to tolerate (optional; absent = the expected attacker count of the "
          "round)" +
              (use.empty() ? std::string() : "; " + use)};
}

RobustAggregator::RobustAggregator(std::string name, std::optional<std::size_t> f,
                                   std::function<bool(std::size_t, std::size_t)> bound,
                                   std::string bound_text)
    : name_(std::move(name)), f_(f), bound_(std::move(bound)), bound_text_(std::move(bound_text)) {}

std::string RobustAggregator::check(std::size_t n, std::size_t f) const {
  if (bound_text_.empty() || bound_(n, f)) return {};
  const std::string fsrc =
      f_ ? fmt::format("[aggregator] f = {}", f)
         : fmt::format("f = {} (the expected Byzantine count; [aggregator] f overrides it)", f);
  return fmt::format(
      "aggregator {} needs {} updates: {} with [rounds] per_round = {}; lower f or raise "
      "per_round",
      name_, bound_text_, fsrc, n);
}

std::size_t RobustAggregator::effective_f(std::size_t n, const AggregationContext& ctx,
                                          AggregationReport* report) const {
  const std::size_t want = configured_f(ctx.byzantine);
  if (bound_text_.empty() || bound_(n, want)) return want;
  std::size_t f = want;
  while (f > 0 && !bound_(n, f)) --f;
  if (report) {
    if (!report->note.empty()) report->note += "; ";
    report->note += bound_(n, f) ? fmt::format("{}: f lowered from {} to {} (only {} updates)",
                                               name_, want, f, n)
                                 : fmt::format(
                                       "{}: f lowered from {} to 0 (only {} updates, "
                                       "below {} even for f = 0)",
                                       name_, want, n, bound_text_);
  }
  return f;
}

}  // namespace ledgerfl::fl::aggs
