// `ledgerfl audit RUN.h5`: reads the ledger tables with metrics::H5Reader and audits them.
#include <algorithm>
#include <exception>
#include <numeric>
#include <ostream>

#include "sim/chain/audit.hpp"
#include "sim/metrics/error.hpp"
#include "sim/metrics/reader.hpp"

namespace ledgerfl::chain {

int audit_run(const std::string& h5_path, std::ostream& out) {
  LedgerColumns c;
  try {
    metrics::H5Reader r(h5_path);
    std::vector<std::pair<std::string, RecordedTable>> tables;
    for (const char* t :
         {"/ledger/blocks", "/ledger/txs", "/ledger/validators", "/ledger/certificates"}) {
      if (!r.has(t)) {
        out << "audit: " << h5_path << ": no " << t << " table (not a chain run?)\n";
        return 2;
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
      const auto blocks = r.round_column_int("blocks");
      c.rounds_blocks = std::accumulate(blocks.begin(), blocks.end(), std::int64_t{0});
    }
  } catch (const std::exception& e) {  // metrics::H5Error, or malformed columns
    out << "audit: " << h5_path << ": unreadable: " << e.what() << "\n";
    return 2;
  }
  return audit_ledger(c, out);
}

}  // namespace ledgerfl::chain
