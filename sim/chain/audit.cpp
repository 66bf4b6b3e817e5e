// Ledger audit over recorded columns.
#include "sim/chain/audit.hpp"

#include <map>
#include <ostream>
#include <stdexcept>

#include "sim/chain/ledger.hpp"

namespace ledgerfl::chain {

int audit_ledger(const LedgerColumns& c, std::ostream& out) {
  const std::size_t nb = c.height.size();
  if (c.hash.size() != nb || c.parent.size() != nb || c.tx_root.size() != nb ||
      c.state_digest.size() != nb || c.proposer.size() != nb || c.timestamp_ns.size() != nb ||
      c.n_tx.size() != nb) {
    out << "audit: /ledger/blocks columns have different lengths\n";
    return 1;
  }
  const std::size_t nt = c.tx_block.size();
  for (const auto* col : {&c.tx_index, &c.nonce, &c.sender, &c.kind, &c.fee, &c.gas, &c.size})
    if (col->size() != nt) {
      out << "audit: /ledger/txs columns have different lengths\n";
      return 1;
    }
  if (c.payload_hash.size() != nt || c.tx_hash.size() != nt) {
    out << "audit: /ledger/txs columns have different lengths\n";
    return 1;
  }
  // Transactions per block row, in table order.
  std::vector<std::vector<std::size_t>> txs_of(nb);
  for (std::size_t j = 0; j < nt; ++j) {
    if (c.tx_block[j] < 0 || static_cast<std::size_t>(c.tx_block[j]) >= nb) {
      out << "audit: transaction row " << j << " names block row " << c.tx_block[j]
          << ", which does not exist\n";
      return 1;
    }
    txs_of[static_cast<std::size_t>(c.tx_block[j])].push_back(j);
  }
  std::map<Hash, std::size_t> row_of;
  for (std::size_t i = 0; i < nb; ++i) row_of.emplace(c.hash[i], i);

  for (std::size_t i = 0; i < nb; ++i) {
    const std::string where =
        "block row " + std::to_string(i) + " (height " + std::to_string(c.height[i]) + ")";
    BlockHeader h;
    h.height = c.height[i];
    h.parent = c.parent[i];
    if (c.proposer[i] < 0 || c.proposer[i] > 0xffffffffLL) {
      out << "audit: " << where << ": proposer " << c.proposer[i] << " is not a node id\n";
      return 1;
    }
    h.proposer = static_cast<std::uint32_t>(c.proposer[i]);
    h.timestamp_ns = c.timestamp_ns[i];
    h.tx_root = c.tx_root[i];
    h.state_digest = c.state_digest[i];
    if (block_hash(h) != c.hash[i]) {
      out << "audit: " << where << ": stored hash " << to_hex(c.hash[i])
          << " != recomputed header hash " << to_hex(block_hash(h)) << "\n";
      return 1;
    }
    if (c.height[i] == 0) {
      if (c.parent[i] != Hash{}) {
        out << "audit: " << where << ": genesis must have a zero parent hash\n";
        return 1;
      }
    } else {
      auto it = row_of.find(c.parent[i]);
      if (it == row_of.end()) {
        out << "audit: " << where << ": parent " << to_hex(c.parent[i])
            << " is not a recorded block\n";
        return 1;
      }
      if (c.height[it->second] != c.height[i] - 1) {
        out << "audit: " << where << ": parent (row " << it->second << ") has height "
            << c.height[it->second] << ", expected " << c.height[i] - 1 << "\n";
        return 1;
      }
    }
    const auto& tx_rows = txs_of[i];
    if (static_cast<std::int64_t>(tx_rows.size()) != c.n_tx[i]) {
      out << "audit: " << where << ": n_tx = " << c.n_tx[i] << " but " << tx_rows.size()
          << " transactions are recorded for it\n";
      return 1;
    }
    std::vector<Hash> leaves;
    leaves.reserve(tx_rows.size());
    for (std::size_t k = 0; k < tx_rows.size(); ++k) {
      const std::size_t j = tx_rows[k];
      const std::string twhere = "transaction row " + std::to_string(j) + " (" + where +
                                 ", index " + std::to_string(c.tx_index[j]) + ")";
      if (c.tx_index[j] != static_cast<std::int64_t>(k)) {
        out << "audit: " << twhere << ": expected index " << k << "\n";
        return 1;
      }
      // Fields that the hash encodes with a narrower type must be in range, or a change in
      // their high bits would go unseen.
      if (c.sender[j] < 0 || c.sender[j] > 0xffffffffLL || c.kind[j] < 0 || c.kind[j] > 0xffff ||
          c.size[j] < 0 || c.size[j] > (std::int64_t{1} << 26)) {
        out << "audit: " << twhere << ": sender, kind or size (max 64 MiB) out of range\n";
        return 1;
      }
      Transaction t;
      t.nonce = static_cast<std::uint64_t>(c.nonce[j]);
      t.sender = static_cast<std::uint32_t>(c.sender[j]);
      t.kind = static_cast<std::uint16_t>(c.kind[j]);
      t.fee = c.fee[j];
      t.gas = c.gas[j];
      t.size = c.size[j];
      t.payload_hash = c.payload_hash[j];
      const Hash th = transaction_hash(t);
      if (th != c.tx_hash[j]) {
        out << "audit: " << twhere << ": stored transaction hash " << to_hex(c.tx_hash[j])
            << " != recomputed " << to_hex(th) << "\n";
        return 1;
      }
      if (c.kind[j] == 0 && generic_payload_hash(t.nonce, t.size) != c.payload_hash[j]) {
        out << "audit: " << twhere << ": stored payload hash " << to_hex(c.payload_hash[j])
            << " != recomputed " << to_hex(generic_payload_hash(t.nonce, t.size)) << "\n";
        return 1;
      }
      leaves.push_back(th);
    }
    const Hash root = merkle_root(leaves);
    if (root != c.tx_root[i]) {
      out << "audit: " << where << ": Merkle root " << to_hex(c.tx_root[i]) << " != recomputed "
          << to_hex(root) << "\n";
      return 1;
    }
  }
  out << "audit: OK, " << nb << " blocks and " << nt << " transactions verified\n";
  return 0;
}

LedgerColumns ledger_columns(const std::vector<core::ColumnSpec>& block_cols,
                             const std::vector<std::vector<core::Cell>>& block_rows,
                             const std::vector<core::ColumnSpec>& tx_cols,
                             const std::vector<std::vector<core::Cell>>& tx_rows) {
  auto col = [](const std::vector<core::ColumnSpec>& cols, const std::string& name) {
    for (std::size_t i = 0; i < cols.size(); ++i)
      if (cols[i].name == name) return i;
    throw std::runtime_error("ledger column '" + name + "' is missing");
  };
  auto cell = [](const std::vector<core::Cell>& row, std::size_t k) -> const core::Cell& {
    if (k >= row.size()) throw std::runtime_error("ledger row is too short");
    return row[k];
  };
  auto ints = [&](const std::vector<core::ColumnSpec>& cols,
                  const std::vector<std::vector<core::Cell>>& rows, const std::string& name,
                  std::vector<std::int64_t>& out) {
    const std::size_t k = col(cols, name);
    for (const auto& r : rows) {
      const auto* v = std::get_if<std::int64_t>(&cell(r, k));
      if (!v) throw std::runtime_error("ledger column '" + name + "' is not int64");
      out.push_back(*v);
    }
  };
  auto hashes = [&](const std::vector<core::ColumnSpec>& cols,
                    const std::vector<std::vector<core::Cell>>& rows, const std::string& name,
                    std::vector<Hash>& out) {
    const std::size_t k = col(cols, name);
    for (const auto& r : rows) {
      const auto* v = std::get_if<core::Hash32>(&cell(r, k));
      if (!v) throw std::runtime_error("ledger column '" + name + "' is not a 32-byte hash");
      out.push_back(*v);
    }
  };
  LedgerColumns c;
  ints(block_cols, block_rows, "height", c.height);
  ints(block_cols, block_rows, "proposer", c.proposer);
  ints(block_cols, block_rows, "timestamp_ns", c.timestamp_ns);
  ints(block_cols, block_rows, "n_tx", c.n_tx);
  hashes(block_cols, block_rows, "hash", c.hash);
  hashes(block_cols, block_rows, "parent", c.parent);
  hashes(block_cols, block_rows, "tx_root", c.tx_root);
  hashes(block_cols, block_rows, "state_digest", c.state_digest);
  ints(tx_cols, tx_rows, "block", c.tx_block);
  ints(tx_cols, tx_rows, "index", c.tx_index);
  ints(tx_cols, tx_rows, "nonce", c.nonce);
  ints(tx_cols, tx_rows, "sender", c.sender);
  ints(tx_cols, tx_rows, "kind", c.kind);
  ints(tx_cols, tx_rows, "fee", c.fee);
  ints(tx_cols, tx_rows, "gas", c.gas);
  ints(tx_cols, tx_rows, "size", c.size);
  hashes(tx_cols, tx_rows, "payload_hash", c.payload_hash);
  hashes(tx_cols, tx_rows, "tx_hash", c.tx_hash);
  return c;
}

LedgerColumns ledger_columns(const core::MemorySink& sink) {
  const core::MemorySink::Table* blocks = nullptr;
  const core::MemorySink::Table* txs = nullptr;
  for (const auto& [path, t] : sink.tables) {
    if (path == "/ledger/blocks") blocks = t.get();
    if (path == "/ledger/txs") txs = t.get();
  }
  if (!blocks || !txs) throw std::runtime_error("ledger tables missing from the sink");
  return ledger_columns(blocks->columns, blocks->rows, txs->columns, txs->rows);
}

}  // namespace ledgerfl::chain
