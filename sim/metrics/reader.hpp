// metrics::H5Reader: reads a run file written by H5Writer (tests, `ledgerfl check`, `audit`).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/record.hpp"
#include "sim/metrics/error.hpp"

namespace ledgerfl::metrics {

// Read-only view of a run file. Only committed rows are read: when the file has /integrity,
// rounds(), columns and tables stop at the row counts of the last commit (a killed run's
// half-written flush is ignored). Every method throws H5Error ("FILE: OBJECT: what") when the
// file does not have the expected layout.
class H5Reader {
 public:
  // Throws H5Error "PATH: no such file" / "PATH: not a readable HDF5 file" / ...
  explicit H5Reader(const std::string& path);
  ~H5Reader();
  H5Reader(H5Reader&&) noexcept;
  H5Reader& operator=(H5Reader&&) noexcept;

  const std::string& path() const { return path_; }

  // Complete rounds: the length of /timing/wall_s (written last in each round). Columns are
  // truncated to this length, so a round cut short by a crash is never half-read.
  std::size_t rounds() const;
  // Names of the /rounds datasets in the order they were created (empty if no /rounds).
  std::vector<std::string> round_metrics() const;
  bool round_metric_is_int(const std::string& name) const;
  // Values of /rounds/<name>; int64 columns are converted (INT64_MIN, "missing", becomes NaN).
  std::vector<double> round_column(const std::string& name) const;
  // Values of an int64 column; throws H5Error for a float64 column.
  std::vector<std::int64_t> round_column_int(const std::string& name) const;
  std::vector<double> timing_wall_s() const;

  // Attributes of /meta; nullopt if absent, H5Error if present with another type.
  std::optional<std::string> meta_string(const std::string& name) const;
  std::optional<std::int64_t> meta_int(const std::string& name) const;
  std::vector<std::string> meta_names() const;

  // Whether an object (group or dataset) exists at a slash path.
  bool has(const std::string& path) const;
  // Columns and rows of a record table (a 1-D compound dataset written by H5Writer::table).
  std::vector<core::ColumnSpec> table_columns(const std::string& path) const;
  std::vector<std::vector<core::Cell>> table_rows(const std::string& path) const;
  std::size_t table_size(const std::string& path) const;

 private:
  struct Impl;
  std::string path_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledgerfl::metrics
