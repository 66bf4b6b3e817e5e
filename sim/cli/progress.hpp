// Progress display of long runs: a live line on a terminal, sparse lines in pipes, silence in CI.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "sim/core/record.hpp"

namespace ledgerfl::cli {

enum class ProgressMode { kAuto, kAlways, kNever };

class ProgressSink final : public core::RunSink {
 public:
  // total_rounds = 0 when unknown (no ETA). Writes to `out` (stderr).
  ProgressSink(std::int64_t total_rounds, ProgressMode mode, std::FILE* out = stderr);
  void on_round(const core::RoundSummary& r) override;
  core::TableSink& table(const std::string&, std::span<const core::ColumnSpec>) override {
    return drop_;
  }
  void set_meta(const std::string&, const std::string&) override {}
  void set_meta(const std::string&, std::int64_t) override {}
  void on_finish() override;

  // Last values seen, for the end-of-run summary.
  std::int64_t rounds_seen() const { return rounds_; }
  double last_accuracy() const { return last_acc_; }
  double best_accuracy() const { return best_acc_; }
  double sim_time_s() const { return sim_s_; }
  double wall_s() const;
  // The end-of-run table: first, final, min, max and mean of every metric (NaN values skipped).
  std::string summary_table() const;

 private:
  struct Drop final : core::TableSink {
    void append(std::span<const core::Cell>) override {}
  } drop_;
  std::int64_t total_;
  bool live_ = false, lines_ = false;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_;
  std::int64_t rounds_ = 0, every_ = 1;
  double last_acc_ = -1, best_acc_ = -1, sim_s_ = 0;
  struct Stat {
    std::string name;
    double first = NAN, last = NAN, min = NAN, max = NAN, sum = 0;
    std::int64_t n = 0;
  };
  std::vector<Stat> stats_;  // in column order
};

}  // namespace ledgerfl::cli
