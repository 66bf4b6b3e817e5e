// Re-verification of a recorded ledger: block hashes, parent links, Merkle roots, payload and
// transaction hashes, from the /ledger/blocks and /ledger/txs columns.
#pragma once

#include <functional>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "sim/chain/hash.hpp"
#include "sim/chain/ledger.hpp"
#include "sim/core/record.hpp"

namespace ledgerfl::metrics {
class H5Reader;
}

namespace ledgerfl::chain {

// A recorded table: its columns and rows (as metrics::H5Reader or core::MemorySink hold them).
struct RecordedTable {
  std::vector<core::ColumnSpec> columns;
  std::vector<std::vector<core::Cell>> rows;
};

// The columns of the ledger tables that the audit needs, one vector per column, and what other
// tables say about the ledger.
struct LedgerColumns {
  std::string consensus;  // /meta chain.consensus ("bft" requires commit certificates)
  // /ledger/blocks
  std::vector<std::int64_t> height, proposer, timestamp_ns, n_tx, gas_used, bytes, on_main;
  std::vector<double> timestamp_s;
  std::vector<Hash> hash, parent, tx_root, state_digest, sig_r, sig_s;
  // /ledger/txs
  std::vector<std::int64_t> tx_block, tx_block_height, tx_index, nonce, sender, kind, fee, gas,
      size;
  std::vector<Hash> payload_hash, tx_hash;
  // /ledger/validators: the registered keys
  std::vector<std::int64_t> val_id, val_power;
  std::vector<Hash> val_key;
  // /ledger/certificates: BFT precommit signatures per committed block
  std::vector<std::int64_t> cert_block, cert_height, cert_round, cert_validator;
  std::vector<Hash> cert_sig_r, cert_sig_s;
  // -1 where the source is absent (a run killed before its end has no /chain_summary).
  std::int64_t header_bytes = -1;    // /meta chain.header_bytes
  std::int64_t summary_blocks = -1;  // /chain_summary blocks (genesis excluded)
  std::int64_t summary_main = -1;    // /chain_summary main_blocks
  std::int64_t rounds_blocks = -1;   // sum of the /rounds blocks column
};

// Returns 0 when every check holds; otherwise writes one line naming the first broken block,
// transaction, signature or certificate (row, height, the column that differs) and returns 1.
// Checks: one genesis row (row 0, the genesis hash) and no duplicate block; per block in row
// order: timestamp_s = timestamp_ns x 1e-9, gas_used and bytes against the block's
// transactions, the header hash (covering height, parent, proposer, timestamp_ns, tx_root,
// state_digest, gas_used, bytes), the parent link, the transaction count, per transaction its
// block_height, the generic payload hash (kind 0) and the transaction hash, then the Merkle
// root and the proposer's Ed25519 signature against /ledger/validators; the main chain
// (on_main_chain = 1 exactly on the parent chain of the highest such block, and as many as
// /chain_summary main_blocks); every certificate signature, > 2/3 of the voting power per
// certified block, a certificate for every main-chain block under BFT; and the block count
// against /chain_summary and /rounds (a dropped tail).
int audit_ledger(const LedgerColumns& c, std::ostream& out);

// Transaction row j as recorded (the audit rehashes it; range checks are audit_ledger's).
Transaction recorded_transaction(const LedgerColumns& c, std::size_t j);

// SHA-256 over the validator table (id, public key, voting power per row): publishing it pins
// the keys, so a rewritten chain signed with substituted keys is detected too.
Hash validator_table_digest(const LedgerColumns& c);

// Extracts the columns from a MemorySink (tests). Throws std::runtime_error if a table is
// missing.
LedgerColumns ledger_columns(const core::MemorySink& sink);
// Same from the tables by path ("/ledger/blocks", "/ledger/txs", "/ledger/validators",
// "/ledger/certificates" required; "/chain_summary" optional). consensus, header_bytes and
// rounds_blocks are left for the caller. Throws std::runtime_error for a missing table or
// column or a cell of the wrong type.
LedgerColumns ledger_columns(const std::vector<std::pair<std::string, RecordedTable>>& tables);

// `ledgerfl audit RUN.h5 [--expect DIGEST]`: verifies the file's digest chain (every run file),
// then the ledger when the file has one, and prints the final digest. 0 all hold; 1 a digest,
// a block or a transaction differs (named), or the final digest is not `expect` (when given);
// 2 unreadable file (bad checksum, ...) or no digest chain. Lives in ledgerfl_audit
// (audit_run.cpp, needs ledgerfl::metrics).
// `extra`, if given, runs after the ledger checks on the open file (the learning contract's own
// records); its exit code joins the others (the worst wins).
using ExtraAudit = std::function<int(const metrics::H5Reader&, std::ostream&)>;
int audit_run(const std::string& h5_path, std::ostream& out, const std::string& expect = {},
              const ExtraAudit& extra = {});

}  // namespace ledgerfl::chain
