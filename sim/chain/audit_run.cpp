// `ledgerfl audit RUN.h5`: verifies the file's digest chain, then the recorded ledger if any.
#include <algorithm>
#include <cctype>
#include <exception>
#include <ostream>

#include "sim/chain/audit.hpp"
#include "sim/metrics/error.hpp"
#include "sim/metrics/integrity.hpp"
#include "sim/metrics/reader.hpp"

namespace ledgerfl::chain {

namespace {

// The file-level check: the /integrity digest chain (sim/metrics/README.md). Returns the exit
// code so far (0, 1 or 2) and prints one line.
int audit_digest_chain(const std::string& h5_path, std::ostream& out, const std::string& expect,
                       bool* has_file) {
  using S = metrics::IntegrityReport::Status;
  const metrics::IntegrityReport rep = metrics::verify_integrity(h5_path);
  *has_file = rep.status == S::kOk;
  switch (rep.status) {
    case S::kUnreadable:
      out << "audit: " << h5_path << ": unreadable: " << rep.message << "\n";
      return 2;
    case S::kAbsent:
      out << "audit: " << h5_path << ": " << rep.message << "\n";
      return 2;
    case S::kMismatch:
      out << "audit: " << h5_path << ": digest chain broken: " << rep.message << "\n";
      return 1;
    case S::kOk:
      break;
  }
  out << "audit: " << h5_path << ": digest chain ok: " << rep.flushes << " flushes, " << rep.rounds
      << " rounds" << (rep.incomplete_tail ? " (an unfinished last flush ignored)" : "") << "\n";
  out << "digest " << rep.digest_hex << "\n";
  if (!expect.empty()) {
    std::string e = expect;
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
    if (e != rep.digest_hex) {
      out << "audit: " << h5_path << ": final digest " << rep.digest_hex << " is not the expected "
          << expect << " (truncated, extended or a different run)\n";
      return 1;
    }
    out << "audit: final digest matches the expected one\n";
  }
  return 0;
}

}  // namespace

int audit_run(const std::string& h5_path, std::ostream& out, const std::string& expect) {
  bool readable = false;
  const int rc = audit_digest_chain(h5_path, out, expect, &readable);
  if (!readable) return rc;
  LedgerColumns c;
  try {
    metrics::H5Reader r(h5_path);
    const bool blocks = r.has("/ledger/blocks"), txs = r.has("/ledger/txs");
    if (!blocks && !txs) {
      out << "audit: no ledger in this run (learning run): digest chain only\n";
      return rc;
    }
    if (!blocks || !txs) {  // never so in a chain run; removing one breaks the digest chain
      out << "audit: no " << (blocks ? "/ledger/txs" : "/ledger/blocks")
          << " in this run: ledger not checked, digest chain only\n";
      return rc;
    }
    c = ledger_columns(r.table_columns("/ledger/blocks"), r.table_rows("/ledger/blocks"),
                       r.table_columns("/ledger/txs"), r.table_rows("/ledger/txs"));
  } catch (const std::exception& e) {  // metrics::H5Error, or malformed columns
    out << "audit: " << h5_path << ": unreadable: " << e.what() << "\n";
    return 2;
  }
  const int ledger_rc = audit_ledger(c, out);
  return std::max(rc, ledger_rc);
}

}  // namespace ledgerfl::chain
