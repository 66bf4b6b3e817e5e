// metrics::H5Writer: the run's HDF5 file (/meta, /rounds, /timing, record tables); a core::RunSink.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "sim/core/record.hpp"
#include "sim/metrics/error.hpp"

namespace ledgerfl::metrics {

// Writes one run to an HDF5 file (layout in sim/metrics/README.md):
//   /meta            group; set_meta() attributes (UTF-8 strings of any length, int64)
//   /rounds/<metric> 1-D extensible dataset per RoundSummary metric, one row per on_round();
//                    int64 metrics -> int64, double -> float64. A metric missing in a round is
//                    written as NaN (float64) or INT64_MIN (int64); a metric that first appears in
//                    a later round is back-filled with the same values.
//   /timing/wall_s   float64 per round (wall clock, kept apart from the results)
//   <table path>     1-D extensible compound dataset per table() (e.g. /ledger/blocks)
// Every on_round() ends with flush(): a process killed between rounds leaves a file that opens
// and holds every finished round. Each flush that wrote something is committed in /integrity:
// rows per dataset and a SHA-256 chained over the rows written and /meta (written last; readers
// trust only committed rows). set_meta() commits /meta at once (rows wait for a flush).
// /timing/wall_s is written last in a round, so its length is the number of complete rounds. One
// writer is used from one thread at a time; writers of different files may live in different
// threads (Debian's libhdf5 is built thread-safe).
class H5Writer final : public core::RunSink {
 public:
  // Creates (truncates) the file; throws H5Error if it cannot.
  explicit H5Writer(const std::string& path);
  ~H5Writer() override;  // flushes and closes; never throws (errors go to stderr)
  H5Writer(const H5Writer&) = delete;
  H5Writer& operator=(const H5Writer&) = delete;

  // Throws std::invalid_argument for a metric named twice in one round or a float64 value for a
  // metric whose column is int64 (int64 values into a float64 column are converted).
  void on_round(const core::RoundSummary& r) override;
  // Creating the same path twice returns the same table if the columns match; otherwise, or for
  // an empty/duplicate column name, throws std::invalid_argument. Rows are buffered (up to
  // kTableBufferRows) and written in order on flush() or when the buffer is full. append()
  // throws std::invalid_argument for a row of the wrong width or cell types.
  core::TableSink& table(const std::string& path,
                         std::span<const core::ColumnSpec> columns) override;
  void set_meta(const std::string& name, const std::string& value) override;
  void set_meta(const std::string& name, std::int64_t value) override;
  // Writes buffered table rows and flushes the whole file to disk (H5Fflush, global scope).
  void flush() override;
  // Flushes and closes the file; later calls of anything but on_finish() throw H5Error.
  void on_finish() override;

  const std::string& path() const { return path_; }
  std::size_t rounds() const;  // on_round() calls so far
  // The digest chain (/integrity): committed flushes so far and the last flush's digest (64 hex
  // digits; `ledgerfl audit` prints the same value for the finished file).
  std::size_t flushes() const;
  std::string digest_hex() const;

  static constexpr std::size_t kTableBufferRows = 4096;
  static constexpr std::size_t kRoundChunkRows = 511;  // 4088 bytes + checksum: one 4 KiB page

 private:
  struct Impl;
  std::string path_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledgerfl::metrics
