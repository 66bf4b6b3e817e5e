#include "sim/contract/audit.hpp"

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/chain/hash.hpp"
#include "sim/chain/ledger.hpp"
#include "sim/contract/contract.hpp"
#include "sim/metrics/reader.hpp"

namespace ledgerfl::contract {

namespace {
struct Table {
  std::vector<core::ColumnSpec> cols;
  std::vector<std::vector<core::Cell>> rows;
  std::size_t col(const std::string& name) const {
    for (std::size_t i = 0; i < cols.size(); ++i)
      if (cols[i].name == name) return i;
    throw std::runtime_error("no column " + name);
  }
  Hash hash(std::size_t r, std::size_t c) const { return std::get<Hash>(rows[r][c]); }
  std::int64_t i64(std::size_t r, std::size_t c) const {
    return std::get<std::int64_t>(rows[r][c]);
  }
};
Table read(const RecordedTables& t, const std::string& path) {
  const auto it = t.find(path);
  if (it == t.end()) throw std::runtime_error("no table " + path);
  return {it->second.columns, it->second.rows};
}
struct HashKey {
  std::size_t operator()(const Hash& h) const {
    std::size_t k = 0;
    for (int i = 0; i < 8; ++i) k = k << 8 | h[i];
    return k;
  }
};
}  // namespace

int audit_contract(const metrics::H5Reader& h, std::ostream& out) {
  if (!h.has("/contract/state")) return 0;
  RecordedTables t;
  for (const char* p : {"/ledger/blocks", "/ledger/txs", "/contract/state", "/contract/commitments",
                        "/contract/updates"})
    if (h.has(p)) t[p] = chain::RecordedTable{h.table_columns(p), h.table_rows(p)};
  return audit_contract(t, out);
}

int audit_contract(const RecordedTables& r, std::ostream& out) {
  if (!r.count("/contract/state")) return 0;
  const Table blocks = read(r, "/ledger/blocks"), txs = read(r, "/ledger/txs");
  const Table state = read(r, "/contract/state");
  const std::size_t bh = blocks.col("hash"), bp = blocks.col("parent"), bt = blocks.col("tx_root"),
                    bs = blocks.col("state_digest"), bhe = blocks.col("height"),
                    bm = blocks.col("on_main_chain");
  std::unordered_map<Hash, std::size_t, HashKey> row_of;
  for (std::size_t i = 0; i < blocks.rows.size(); ++i) row_of[blocks.hash(i, bh)] = i;
  std::unordered_map<Hash, Hash, HashKey> app;
  for (std::size_t i = 0; i < state.rows.size(); ++i) app[state.hash(i, 0)] = state.hash(i, 1);
  // 1. Every header commits to its recorded application state.
  for (std::size_t i = 1; i < blocks.rows.size(); ++i) {
    const auto a = app.find(blocks.hash(i, bh));
    const auto p = row_of.find(blocks.hash(i, bp));
    if (a == app.end() || p == row_of.end()) {
      out << "audit: contract: /ledger/blocks row " << i << " (height " << blocks.i64(i, bhe)
          << ") has no " << (a == app.end() ? "/contract/state row" : "parent row") << "\n";
      return 1;
    }
    const Hash generic = chain::next_state_digest(blocks.hash(p->second, bs), blocks.hash(i, bt),
                                                  blocks.i64(i, bhe));
    if (chain::app_state_digest(generic, a->second) != blocks.hash(i, bs)) {
      out << "audit: contract: /ledger/blocks row " << i << " (height " << blocks.i64(i, bhe)
          << "): state_digest does not commit to the recorded contract state\n";
      return 1;
    }
  }
  // 2. Commitments are bound to main-chain submit_update transactions.
  const Table com = read(r, "/contract/commitments");
  const std::size_t cr = com.col("round"), cc = com.col("client"), ch = com.col("commitment"),
                    cs = com.col("samples"), ct = com.col("tx_hash"), cb = com.col("bytes");
  // execute_on = "head": each submission names the block that opened its round (a payload field).
  std::size_t cref = com.cols.size();
  for (std::size_t i = 0; i < com.cols.size(); ++i)
    if (com.cols[i].name == "ref") cref = i;
  const std::size_t th = txs.col("tx_hash"), tp = txs.col("payload_hash"), ts = txs.col("sender"),
                    tb = txs.col("block");
  std::unordered_map<Hash, std::size_t, HashKey> tx_of;
  // A transaction of a forked chain can be in several blocks (an orphaned one and the main
  // chain's): its main-chain inclusion is the one that counts.
  auto on_main = [&](std::size_t j) {
    return blocks.i64(static_cast<std::size_t>(txs.i64(j, tb)), bm) == 1;
  };
  for (std::size_t j = 0; j < txs.rows.size(); ++j) {
    const auto [it, fresh] = tx_of.emplace(txs.hash(j, th), j);
    if (!fresh && !on_main(it->second) && on_main(j)) it->second = j;
  }
  for (std::size_t k = 0; k < com.rows.size(); ++k) {
    const auto t = tx_of.find(com.hash(k, ct));
    Call c;
    c.op = Op::kSubmit;
    c.sender = static_cast<Account>(com.i64(k, cc));
    c.round = com.i64(k, cr);
    c.commitment = com.hash(k, ch);
    c.samples = com.i64(k, cs);
    if (cref < com.cols.size()) c.ref = com.hash(k, cref);
    std::string why;
    if (t == tx_of.end())
      why = "its transaction is not in /ledger/txs";
    else if (txs.i64(t->second, ts) != com.i64(k, cc))
      why = "its transaction's sender is another account";
    else if (txs.hash(t->second, tp) != call_hash(c))
      why = "its transaction's payload hash is not that of (round, commitment, samples)";
    else if (blocks.i64(static_cast<std::size_t>(txs.i64(t->second, tb)), bm) != 1)
      why = "its transaction is not on the main chain";
    if (!why.empty()) {
      out << "audit: contract: /contract/commitments row " << k << " (round " << c.round
          << ", client " << c.sender << "): " << why << "\n";
      return 1;
    }
  }
  // 3. Recorded update bytes hash to their commitments.
  std::size_t checked = 0;
  if (r.count("/contract/updates")) {
    const Table up = read(r, "/contract/updates");
    std::map<std::int64_t, std::vector<std::uint8_t>> bytes;
    for (std::size_t i = 0; i < up.rows.size(); ++i) {
      const Hash chunk = up.hash(i, 1);
      auto& b = bytes[up.i64(i, 0)];
      b.insert(b.end(), chunk.begin(), chunk.end());
    }
    for (auto& [k, b] : bytes) {
      if (k < 0 || static_cast<std::size_t>(k) >= com.rows.size()) {
        out << "audit: contract: /contract/updates names update " << k
            << ", not a commitment row\n";
        return 1;
      }
      const auto n = static_cast<std::size_t>(com.i64(static_cast<std::size_t>(k), cb));
      if (b.size() < n ||
          chain::sha256({b.data(), n}) != com.hash(static_cast<std::size_t>(k), ch)) {
        out << "audit: contract: the recorded bytes of update " << k << " (round "
            << com.i64(static_cast<std::size_t>(k), cr) << ", client "
            << com.i64(static_cast<std::size_t>(k), cc) << ") do not hash to its commitment\n";
        return 1;
      }
      ++checked;
    }
  }
  out << "audit: contract OK: " << blocks.rows.size() - 1 << " state digests, " << com.rows.size()
      << " update commitments bound to their transactions, " << checked
      << " recorded updates re-hashed\n";
  return 0;
}

}  // namespace ledgerfl::contract
