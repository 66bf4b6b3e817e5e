// Where results go: per-round summaries and typed tables, published to observers (sinks).
// sim/core never includes HDF5; the HDF5 writer in sim/metrics is one implementation of RunSink.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ledgerfl::core {

using MetricValue = std::variant<std::int64_t, double>;

// One row of /rounds: metric name -> value, in a stable column order. The first round fixes the
// set of columns; later rounds must supply the same names (the HDF5 writer fills a missing one with
// NaN / INT64_MIN).
struct RoundSummary {
  std::vector<std::pair<std::string, MetricValue>> metrics;
  double wall_s = 0.0;  // wall clock of the round; goes to /timing, apart from results

  void add(std::string name, std::int64_t v) { metrics.emplace_back(std::move(name), v); }
  void add(std::string name, double v) { metrics.emplace_back(std::move(name), v); }
  const MetricValue* find(std::string_view name) const;
  double get_double(std::string_view name) const;  // NaN if absent
};

// Column types of record tables (e.g. /ledger/blocks, /ledger/txs).
enum class ColumnType { kInt64, kFloat64, kHash32 };  // kHash32 = 32 raw bytes (SHA-256)
struct ColumnSpec {
  std::string name;
  ColumnType type;
};
using Hash32 = std::array<std::uint8_t, 32>;
using Cell = std::variant<std::int64_t, double, Hash32>;

// An append-only table with fixed columns.
class TableSink {
 public:
  virtual ~TableSink() = default;
  virtual void append(std::span<const Cell> row) = 0;
};

// Receives everything a run produces. Implementations: metrics::H5Writer (the file),
// core::MemorySink (tests), the progress display (rounds only).
class RunSink {
 public:
  virtual ~RunSink() = default;
  virtual void on_round(const RoundSummary& r) = 0;
  // Opens (creates) a table at a slash path such as "/ledger/blocks". The reference stays valid
  // for the sink's lifetime. Sinks that do not keep tables return a table that drops rows.
  virtual TableSink& table(const std::string& path, std::span<const ColumnSpec> columns) = 0;
  // Attribute on the root metadata group (/meta).
  virtual void set_meta(const std::string& name, const std::string& value) = 0;
  virtual void set_meta(const std::string& name, std::int64_t value) = 0;
  // Makes everything written so far durable (called at least once per round).
  virtual void flush() {}
  virtual void on_finish() {}
};

// Forwards to several sinks (file + progress display + ...).
class SinkFanout final : public RunSink {
 public:
  void add(RunSink& s) { sinks_.push_back(&s); }
  void on_round(const RoundSummary& r) override;
  TableSink& table(const std::string& path, std::span<const ColumnSpec> columns) override;
  void set_meta(const std::string& name, const std::string& value) override;
  void set_meta(const std::string& name, std::int64_t value) override;
  void flush() override;
  void on_finish() override;

 private:
  std::vector<RunSink*> sinks_;
  std::vector<std::unique_ptr<TableSink>> fanout_tables_;
};

// Keeps everything in memory (tests, and `--no-output` style runs).
class MemorySink final : public RunSink {
 public:
  struct Table {
    std::vector<ColumnSpec> columns;
    std::vector<std::vector<Cell>> rows;
  };
  void on_round(const RoundSummary& r) override { rounds.push_back(r); }
  TableSink& table(const std::string& path, std::span<const ColumnSpec> columns) override;
  void set_meta(const std::string& name, const std::string& value) override {
    meta_str.emplace_back(name, value);
  }
  void set_meta(const std::string& name, std::int64_t value) override {
    meta_int.emplace_back(name, value);
  }
  // Column of a round metric as doubles (NaN where absent).
  std::vector<double> column(std::string_view name) const;

  std::vector<RoundSummary> rounds;
  std::vector<std::pair<std::string, std::unique_ptr<Table>>> tables;
  std::vector<std::pair<std::string, std::string>> meta_str;
  std::vector<std::pair<std::string, std::int64_t>> meta_int;

 private:
  std::vector<std::unique_ptr<TableSink>> writers_;
};

}  // namespace ledgerfl::core
