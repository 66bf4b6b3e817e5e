// `ledgerfl audit RUN.h5`: verifies the file's digest chain, then the recorded ledger if any.
#include <algorithm>
#include <cctype>
#include <exception>
#include <numeric>
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

int audit_run(const std::string& h5_path, std::ostream& out, const std::string& expect,
              const ExtraAudit& extra) {
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
    // A chain run records all four ledger tables; one missing is an incomplete (tampered) file.
    std::vector<std::pair<std::string, RecordedTable>> tables;
    for (const char* t :
         {"/ledger/blocks", "/ledger/txs", "/ledger/validators", "/ledger/certificates"}) {
      if (!r.has(t)) {
        out << "audit: " << h5_path << ": no " << t << " table: the ledger is incomplete\n";
        return 1;
      }
      tables.emplace_back(t, RecordedTable{r.table_columns(t), r.table_rows(t)});
    }
    if (r.has("/chain_summary"))
      tables.emplace_back("/chain_summary", RecordedTable{r.table_columns("/chain_summary"),
                                                          r.table_rows("/chain_summary")});
    c = ledger_columns(tables);
    c.consensus = r.meta_string("chain.consensus").value_or("");
    c.header_bytes = r.meta_int("chain.header_bytes").value_or(-1);
    const auto metrics = r.round_metrics();
    if (std::find(metrics.begin(), metrics.end(), "blocks") != metrics.end()) {
      const auto per_round = r.round_column_int("blocks");
      c.rounds_blocks = std::accumulate(per_round.begin(), per_round.end(), std::int64_t{0});
    }
  } catch (const std::exception& e) {  // metrics::H5Error, or malformed columns
    out << "audit: " << h5_path << ": unreadable: " << e.what() << "\n";
    return 2;
  }
  const int ledger_rc = audit_ledger(c, out);
  int extra_rc = 0;
  if (extra) {
    try {
      metrics::H5Reader r(h5_path);
      extra_rc = extra(r, out);
    } catch (const std::exception& e) {
      out << "audit: " << h5_path << ": unreadable: " << e.what() << "\n";
      return 2;
    }
  }
  return std::max({rc, ledger_rc, extra_rc});
}

}  // namespace ledgerfl::chain
