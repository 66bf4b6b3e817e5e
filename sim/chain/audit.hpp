// Re-verification of a recorded ledger: block hashes, parent links, Merkle roots, payload and
// transaction hashes, from the /ledger/blocks and /ledger/txs columns.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "sim/chain/hash.hpp"
#include "sim/core/record.hpp"

namespace ledgerfl::chain {

// The columns of the two ledger tables that the audit needs, one vector per column.
struct LedgerColumns {
  // /ledger/blocks
  std::vector<std::int64_t> height, proposer, timestamp_ns, n_tx;
  std::vector<Hash> hash, parent, tx_root, state_digest;
  // /ledger/txs
  std::vector<std::int64_t> tx_block, tx_index, nonce, sender, kind, fee, gas, size;
  std::vector<Hash> payload_hash, tx_hash;
};

// Returns 0 when every check holds; otherwise writes one line naming the first broken block or
// transaction (row, height, what differs) and returns 1. Checks, per block in row order: the
// header hash, the parent link (genesis has a zero parent; others name a recorded block one
// height lower), the transaction count, and per transaction: the generic payload hash
// (kind 0), the transaction hash, then the block's Merkle root.
int audit_ledger(const LedgerColumns& c, std::ostream& out);

// Extracts the columns from a MemorySink (tests). Throws std::runtime_error if a table is
// missing.
LedgerColumns ledger_columns(const core::MemorySink& sink);
// Same from table columns and rows (as metrics::H5Reader returns them). Throws
// std::runtime_error for a missing column or a cell of the wrong type.
LedgerColumns ledger_columns(const std::vector<core::ColumnSpec>& block_cols,
                             const std::vector<std::vector<core::Cell>>& block_rows,
                             const std::vector<core::ColumnSpec>& tx_cols,
                             const std::vector<std::vector<core::Cell>>& tx_rows);

// `ledgerfl audit RUN.h5 [--expect DIGEST]`: verifies the file's digest chain (every run file),
// then the ledger when the file has one, and prints the final digest. 0 all hold; 1 a digest,
// a block or a transaction differs (named), or the final digest is not `expect` (when given);
// 2 unreadable file (bad checksum, ...) or no digest chain. Lives in ledgerfl_audit
// (audit_run.cpp, needs ledgerfl::metrics).
int audit_run(const std::string& h5_path, std::ostream& out, const std::string& expect = {});

}  // namespace ledgerfl::chain
