// The /integrity layout shared by the writer, the reader and verify_integrity (private).
#pragma once

#include <hdf5.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sim/core/record.hpp"

namespace ledgerfl::metrics::integrity {

using Digest = std::array<std::uint8_t, 32>;

// Paths and columns (sim/metrics/README.md).
inline constexpr const char* kGroup = "/integrity";
inline constexpr const char* kRows = "/integrity/rows";        // flush, object, rows
inline constexpr const char* kCommits = "/integrity/commits";  // flush, rows_end, meta, digest
inline constexpr const char* kObjectsAttr = "objects";         // object paths, '\n'-joined
inline constexpr const char* kTiming = "/timing/wall_s";       // counted, never hashed
inline constexpr std::string_view kTag = "ledgerfl.integrity.v1";

std::vector<core::ColumnSpec> rows_columns();
std::vector<core::ColumnSpec> commits_columns();

// Incremental SHA-256 (OpenSSL EVP).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(const void* data, std::size_t n);
  void update_u64(std::uint64_t v);     // 8 bytes little-endian
  void update_str(std::string_view s);  // length (u64) then bytes
  Digest finish();                      // and resets for reuse

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string to_hex(const Digest& d);

using MetaValue = std::variant<std::string, std::int64_t>;
// SHA-256 over the attributes in name order: name, 's' or 'i', value.
Digest meta_digest(const std::map<std::string, MetaValue>& meta);

// One flush's entry for one object whose committed row count grew: rows [from, to) and the
// SHA-256 of their bytes as written (packed little-endian cells; empty for /timing/wall_s).
struct Entry {
  std::int64_t object = 0;
  std::int64_t from = 0, to = 0;
  Digest data{};
};
// d_k = SHA-256(tag, d_{k-1}, k, meta digest, per entry in object order: id, name, from, to,
// data digest).
Digest chain_step(const Digest& prev, std::int64_t flush, const Digest& meta,
                  const std::vector<Entry>& entries, const std::vector<std::string>& names);

struct CommitRow {
  std::int64_t flush = 0, rows_end = 0;
  Digest meta{}, digest{};
};
struct RowsRow {
  std::int64_t flush = 0, object = 0, rows = 0;
};

// What /integrity records; `present` false when the file has no /integrity group. A trailing
// all-zero commit row (the extent grew, the row was never written: a kill) is dropped and
// `incomplete_tail` set. Throws H5Error on read failures.
struct State {
  bool present = false;
  bool incomplete_tail = false;
  std::vector<std::string> objects;
  std::vector<RowsRow> rows;       // every stored entry (also those past the last commit)
  std::vector<CommitRow> commits;  // committed flushes
  // Row count per object path at the last commit (objects without an entry are absent).
  std::map<std::string, std::size_t> committed() const;
};
State read_state(hid_t file, const std::string& path);

}  // namespace ledgerfl::metrics::integrity
