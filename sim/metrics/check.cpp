// Golden-curve regression check: per-round tolerances, a short report naming every drift.
#include "sim/metrics/check.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/metrics/reader.hpp"

namespace ledgerfl::metrics {

namespace {

constexpr std::size_t kListedProblems = 10;

bool close_enough(double a, double b, double rtol, double atol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (a == b) return true;  // also equal infinities
  return std::fabs(a - b) <= atol + rtol * std::fabs(b);
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

CheckResult check_against_golden(const std::string& run, const std::string& golden,
                                 std::vector<std::string> metrics, double rtol, double atol) {
  if (!(rtol >= 0.0) || !std::isfinite(rtol) || !(atol >= 0.0) || !std::isfinite(atol))
    throw std::invalid_argument(
        fmt::format("tolerances must be finite and >= 0 (rtol = {}, atol = {})", rtol, atol));
  const H5Reader r(run);
  const H5Reader g(golden);
  CheckResult res;

  const auto run_metrics = r.round_metrics();
  const auto golden_metrics = g.round_metrics();
  if (metrics.empty()) {
    for (const auto& m : golden_metrics) {
      if (m.find("wall") != std::string::npos) continue;
      // A run that lacks a metric the golden has cannot be said to match it: fail, named.
      if (!contains(run_metrics, m)) {
        res.problems.push_back(
            fmt::format("metric '{}' of the golden file is missing in the run", m));
        continue;
      }
      if (!g.round_metric_is_int(m) && !r.round_metric_is_int(m)) metrics.push_back(m);
    }
  }

  const std::size_t nr = r.rounds(), ng = g.rounds();
  if (nr != ng)
    res.problems.push_back(fmt::format("round count: run has {}, golden has {}", nr, ng));

  std::vector<std::string> summary;
  std::size_t compared = 0;
  for (const auto& m : metrics) {
    const bool in_run = contains(run_metrics, m), in_golden = contains(golden_metrics, m);
    if (!in_run || !in_golden) {
      res.problems.push_back(fmt::format("metric '{}' is missing in the {}", m,
                                         !in_run && !in_golden ? "run and the golden file"
                                         : !in_run             ? "run"
                                                               : "golden file"));
      continue;
    }
    ++compared;
    const auto a = r.round_column(m);
    const auto b = g.round_column(m);
    const std::size_t n = std::min(a.size(), b.size());
    double worst = 0.0;
    std::size_t worst_at = 0, failed = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double d = std::fabs(a[i] - b[i]);
      if (!std::isnan(d) && d > worst) {
        worst = d;
        worst_at = i;
      }
      if (close_enough(a[i], b[i], rtol, atol)) continue;
      ++failed;
      const std::string why =
          std::isnan(d)
              ? std::string(std::isnan(a[i]) || std::isnan(b[i]) ? "one is NaN" : "infinite")
              : fmt::format("|diff| {:.3g} > {:.3g}", d, atol + rtol * std::fabs(b[i]));
      // {} prints the shortest text that reads back as the same double.
      res.problems.push_back(
          fmt::format("{} at round {}: run {}, golden {} ({})", m, i, a[i], b[i], why));
    }
    summary.push_back(
        fmt::format("  {:<28} max |run - golden| = {:.3g} at round {}{}", m, worst, worst_at,
                    failed > 0 ? fmt::format(", {} rounds FAIL", failed) : std::string()));
  }
  if (compared == 0 && res.problems.empty())
    res.problems.push_back("no metrics to compare (no float64 round metric in both files)");

  res.ok = res.problems.empty();
  std::string& out = res.report;
  out = fmt::format("check {} against golden {}: {} metric(s), {} round(s), rtol {}, atol {}\n",
                    run, golden, compared, std::min(nr, ng), rtol, atol);
  for (const auto& s : summary) out += s + "\n";
  if (res.ok) {
    out += "OK\n";
  } else {
    out += fmt::format("FAILED: {} problem(s)\n", res.problems.size());
    for (std::size_t i = 0; i < std::min(res.problems.size(), kListedProblems); ++i)
      out += "  " + res.problems[i] + "\n";
    if (res.problems.size() > kListedProblems)
      out += fmt::format("  ... and {} more\n", res.problems.size() - kListedProblems);
  }
  return res;
}

}  // namespace ledgerfl::metrics
