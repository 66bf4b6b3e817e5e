// `ledgerfl audit RUN.h5`: reads the ledger tables with metrics::H5Reader and audits them.
#include <exception>
#include <ostream>

#include "sim/chain/audit.hpp"
#include "sim/metrics/error.hpp"
#include "sim/metrics/reader.hpp"

namespace ledgerfl::chain {

int audit_run(const std::string& h5_path, std::ostream& out) {
  LedgerColumns c;
  try {
    metrics::H5Reader r(h5_path);
    for (const char* t : {"/ledger/blocks", "/ledger/txs"})
      if (!r.has(t)) {
        out << "audit: " << h5_path << ": no " << t << " table (not a chain run?)\n";
        return 2;
      }
    c = ledger_columns(r.table_columns("/ledger/blocks"), r.table_rows("/ledger/blocks"),
                       r.table_columns("/ledger/txs"), r.table_rows("/ledger/txs"));
  } catch (const std::exception& e) {  // metrics::H5Error, or malformed columns
    out << "audit: " << h5_path << ": unreadable: " << e.what() << "\n";
    return 2;
  }
  return audit_ledger(c, out);
}

}  // namespace ledgerfl::chain
