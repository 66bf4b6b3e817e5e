// Tests of check_against_golden: tolerances, NaN, lengths, metric selection, report text.
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "sim/core/record.hpp"
#include "sim/metrics/check.hpp"
#include "sim/metrics/writer.hpp"
#include "tests/metrics/tmp_path.hpp"

namespace {

using ledgerfl::core::RoundSummary;
using ledgerfl::metrics::check_against_golden;
using ledgerfl::metrics::H5Error;
using ledgerfl::metrics::H5Writer;
using ledgerfl::metrics::testing::TmpPath;

struct Curve {
  std::vector<double> accuracy;
  std::vector<double> loss;
};

Curve base_curve(int rounds) {
  Curve c;
  for (int r = 0; r < rounds; ++r) {
    c.accuracy.push_back(1.0 - 0.9 * std::exp(-r / 5.0));
    c.loss.push_back(r == 3 ? std::numeric_limits<double>::quiet_NaN() : 2.0 * std::exp(-r / 4.0));
  }
  return c;
}

// Writes a run; `participants` and `wall_ms` are there to be skipped by the default selection.
void write_run(const std::string& path, const Curve& c, double wall_ms) {
  H5Writer w(path);
  for (std::size_t r = 0; r < c.accuracy.size(); ++r) {
    RoundSummary s;
    s.add("test_accuracy", c.accuracy[r]);
    s.add("loss", c.loss[r]);
    s.add("participants", static_cast<std::int64_t>(r));
    s.add("wall_ms", wall_ms * static_cast<double>(r));
    s.wall_s = wall_ms;
    w.on_round(s);
  }
}

// The way the report prints values (the shortest text that reads back as the same double).
std::string fmt_value(double v) {
  return fmt::format("{}", v);
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("identical runs pass, whatever the wall clock says") {
  TmpPath run("run"), golden("golden");
  write_run(golden.str(), base_curve(12), 1.0);
  write_run(run.str(), base_curve(12), 7.0);  // only wall-clock figures differ
  const auto res = check_against_golden(run.str(), golden.str(), {}, 0.0, 0.0);
  CHECK(res.ok);
  CHECK(res.problems.empty());
  CHECK(contains(res.report, "2 metric(s), 12 round(s)"));  // test_accuracy and loss only
  CHECK(contains(res.report, "OK"));
  // Naming the wall-clock metric explicitly does compare it.
  const auto wall = check_against_golden(run.str(), golden.str(), {"wall_ms"}, 0.0, 0.0);
  CHECK_FALSE(wall.ok);
}

TEST_CASE("a value beyond the tolerance fails naming metric, round and values") {
  TmpPath run("run"), golden("golden");
  Curve c = base_curve(12);
  write_run(golden.str(), c, 1.0);
  const double b = c.accuracy[7];
  c.accuracy[7] = b + 1e-3;
  write_run(run.str(), c, 1.0);

  const auto fail = check_against_golden(run.str(), golden.str(), {}, 1e-4, 1e-6);
  CHECK_FALSE(fail.ok);
  REQUIRE(fail.problems.size() == 1);
  CHECK(contains(fail.problems[0], "test_accuracy at round 7"));
  CHECK(contains(fail.problems[0], fmt_value(b + 1e-3)));
  CHECK(contains(fail.problems[0], fmt_value(b)));
  CHECK(contains(fail.report, "FAILED: 1 problem(s)"));
  CHECK(contains(fail.report, "test_accuracy at round 7"));

  // Within tolerance: atol alone, rtol alone.
  CHECK(check_against_golden(run.str(), golden.str(), {}, 0.0, 1.1e-3).ok);
  CHECK(check_against_golden(run.str(), golden.str(), {}, 1.1e-3 / b, 0.0).ok);
  CHECK_FALSE(check_against_golden(run.str(), golden.str(), {}, 0.9e-3 / b, 0.0).ok);
  // Only the selected metric is compared.
  CHECK(check_against_golden(run.str(), golden.str(), {"loss"}, 0.0, 0.0).ok);
}

TEST_CASE("NaN equals NaN but not a number") {
  TmpPath run("run"), golden("golden");
  Curve c = base_curve(6);
  write_run(golden.str(), c, 1.0);
  CHECK(check_against_golden(golden.str(), golden.str(), {"loss"}, 0.0, 0.0).ok);
  c.loss[3] = 0.5;
  write_run(run.str(), c, 1.0);
  const auto res = check_against_golden(run.str(), golden.str(), {"loss"}, 0.5, 10.0);
  CHECK_FALSE(res.ok);
  REQUIRE(res.problems.size() == 1);
  CHECK(contains(res.problems[0], "loss at round 3: run 0.5, golden nan (one is NaN)"));
}

TEST_CASE("different round counts and missing metrics fail") {
  TmpPath run("run"), golden("golden");
  write_run(golden.str(), base_curve(12), 1.0);
  write_run(run.str(), base_curve(10), 1.0);
  const auto res = check_against_golden(run.str(), golden.str(), {}, 1e-9, 0.0);
  CHECK_FALSE(res.ok);
  REQUIRE(res.problems.size() == 1);  // the common 10 rounds agree
  CHECK(contains(res.problems[0], "run has 10, golden has 12"));

  const auto missing =
      check_against_golden(golden.str(), golden.str(), {"test_accuracy", "f1"}, 0.0, 0.0);
  CHECK_FALSE(missing.ok);
  REQUIRE(missing.problems.size() == 1);
  CHECK(contains(missing.problems[0], "'f1' is missing"));
}

TEST_CASE("a run that lacks metrics of the golden fails, naming each") {
  TmpPath run("run"), golden("golden");
  write_run(golden.str(), base_curve(12), 1.0);
  {
    H5Writer w(run.str());  // the same rounds with only test_accuracy (loss, participants gone)
    const Curve c = base_curve(12);
    for (double a : c.accuracy) {
      RoundSummary s;
      s.add("test_accuracy", a);
      w.on_round(s);
    }
  }
  const auto res = check_against_golden(run.str(), golden.str(), {}, 0.0, 0.0);
  CHECK_FALSE(res.ok);
  REQUIRE(res.problems.size() == 2);
  CHECK(contains(res.problems[0], "metric 'loss' of the golden file is missing in the run"));
  CHECK(contains(res.problems[1], "metric 'participants' of the golden file is missing"));
  CHECK(contains(res.report, "FAILED: 2 problem(s)"));
}

TEST_CASE("the report lists the first 10 problems and counts the rest") {
  TmpPath run("run"), golden("golden");
  Curve c = base_curve(30);
  write_run(golden.str(), c, 1.0);
  for (auto& a : c.accuracy) a += 0.1;
  write_run(run.str(), c, 1.0);
  const auto res = check_against_golden(run.str(), golden.str(), {}, 0.0, 1e-3);
  CHECK_FALSE(res.ok);
  CHECK(res.problems.size() == 30);
  CHECK(contains(res.report, "FAILED: 30 problem(s)"));
  CHECK(contains(res.report, "test_accuracy at round 9"));
  CHECK_FALSE(contains(res.report, "test_accuracy at round 10:"));
  CHECK(contains(res.report, "... and 20 more"));
}

TEST_CASE("bad tolerances and unreadable files are errors, not verdicts") {
  TmpPath golden("golden"), missing("missing");
  write_run(golden.str(), base_curve(3), 1.0);
  CHECK_THROWS_AS(check_against_golden(golden.str(), golden.str(), {}, -1.0, 0.0),
                  std::invalid_argument);
  CHECK_THROWS_AS(check_against_golden(golden.str(), golden.str(), {}, 0.0, std::nan("")),
                  std::invalid_argument);
  CHECK_THROWS_AS(check_against_golden(missing.str(), golden.str(), {}, 0.0, 0.0), H5Error);
  // Two files with no float64 metric in common: nothing compared is a failure, not a pass.
  TmpPath ints("ints");
  {
    H5Writer w(ints.str());
    RoundSummary s;
    s.add("participants", std::int64_t{3});
    w.on_round(s);
  }
  const auto res = check_against_golden(ints.str(), ints.str(), {}, 0.0, 0.0);
  CHECK_FALSE(res.ok);
  CHECK(contains(res.report, "no metrics to compare"));
}
