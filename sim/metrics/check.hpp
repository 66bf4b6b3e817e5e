// metrics::check_against_golden: compares a run's round curves with a golden reference (CI).
#pragma once

#include <string>
#include <vector>

namespace ledgerfl::metrics {

struct CheckResult {
  bool ok = true;
  std::vector<std::string> problems;  // every problem found, in order
  std::string report;                 // human-readable summary: per-metric max deviation, the
                                      // first 10 problems and a count of the rest
};

// Compares /rounds of `run` with `golden` value by value: a value a fails against golden b when
// |a - b| > atol + rtol * |b| (NaN equals NaN; NaN against a number fails; equal infinities
// pass). Rounds are named by their 0-based row. Problems: different round counts (the common
// prefix is still compared), a requested metric missing in either file, a value beyond the
// tolerance, or nothing to compare.
// `metrics` empty = every float64 metric present in both files, except wall-clock metrics
// (names containing "wall"); the wall-clock /timing group is never compared.
// Throws H5Error if a file cannot be read, std::invalid_argument for a negative or non-finite
// tolerance.
CheckResult check_against_golden(const std::string& run, const std::string& golden,
                                 std::vector<std::string> metrics, double rtol, double atol);

}  // namespace ledgerfl::metrics
