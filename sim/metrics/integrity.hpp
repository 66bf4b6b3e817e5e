// metrics::verify_integrity: re-computes a run file's flush digest chain (/integrity).
#pragma once

#include <cstddef>
#include <string>

namespace ledgerfl::metrics {

// What verify_integrity found. The chain's layout and digest are described in
// sim/metrics/README.md ("Integrity: commit markers and the digest chain").
struct IntegrityReport {
  enum class Status {
    kOk,          // every committed flush re-hashes to its recorded digest
    kMismatch,    // a digest, a row count, /meta or the set of datasets differs: tampered
    kUnreadable,  // HDF5 cannot read the file or a committed chunk (bad Fletcher-32 checksum, ...)
    kAbsent,      // no /integrity group (not written by this H5Writer)
  };
  Status status = Status::kUnreadable;
  std::string message;           // one line, "" when kOk
  std::size_t flushes = 0;       // committed flushes
  std::size_t rounds = 0;        // committed rounds (rows of /timing/wall_s)
  std::string digest_hex;        // final digest (64 hex digits; all zero for no flush)
  bool incomplete_tail = false;  // a commit row extended but never written (killed run) was ignored
};

// Never throws: every HDF5 error becomes kUnreadable with its message.
IntegrityReport verify_integrity(const std::string& path);

}  // namespace ledgerfl::metrics
