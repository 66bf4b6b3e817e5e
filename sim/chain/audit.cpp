// Ledger audit over recorded columns: hashes, links, Merkle roots, signatures, certificates.
#include "sim/chain/audit.hpp"

#include <cmath>
#include <map>
#include <memory>
#include <ostream>
#include <stdexcept>

#include "sim/chain/keys.hpp"
#include "sim/chain/ledger.hpp"

namespace ledgerfl::chain {

namespace {

bool same_lengths(const LedgerColumns& c, std::ostream& out) {
  const std::size_t nb = c.height.size();
  for (const auto* col : {&c.proposer, &c.timestamp_ns, &c.n_tx, &c.gas_used, &c.bytes, &c.on_main})
    if (col->size() != nb)
      return out << "audit: /ledger/blocks columns have different lengths\n", false;
  for (const auto* col : {&c.hash, &c.parent, &c.tx_root, &c.state_digest, &c.sig_r, &c.sig_s})
    if (col->size() != nb)
      return out << "audit: /ledger/blocks columns have different lengths\n", false;
  if (c.timestamp_s.size() != nb)
    return out << "audit: /ledger/blocks columns have different lengths\n", false;
  const std::size_t nt = c.tx_block.size();
  for (const auto* col :
       {&c.tx_block_height, &c.tx_index, &c.nonce, &c.sender, &c.kind, &c.fee, &c.gas, &c.size})
    if (col->size() != nt)
      return out << "audit: /ledger/txs columns have different lengths\n", false;
  if (c.payload_hash.size() != nt || c.tx_hash.size() != nt)
    return out << "audit: /ledger/txs columns have different lengths\n", false;
  if (c.val_power.size() != c.val_id.size() || c.val_key.size() != c.val_id.size())
    return out << "audit: /ledger/validators columns have different lengths\n", false;
  const std::size_t nc = c.cert_block.size();
  for (const auto* col : {&c.cert_height, &c.cert_round, &c.cert_validator})
    if (col->size() != nc)
      return out << "audit: /ledger/certificates columns have different lengths\n", false;
  if (c.cert_sig_r.size() != nc || c.cert_sig_s.size() != nc)
    return out << "audit: /ledger/certificates columns have different lengths\n", false;
  return true;
}

// The main chain is the parent chain of its highest block: genesis is on it, every other
// block on it has its parent on it, no height has two. Counted against /chain_summary.
int check_main_chain(const LedgerColumns& c, const std::vector<std::size_t>& parent_row,
                     std::ostream& out) {
  const std::size_t nb = c.height.size();
  std::map<std::int64_t, std::size_t> main_at;
  for (std::size_t i = 0; i < nb; ++i) {
    const std::string where =
        "block row " + std::to_string(i) + " (height " + std::to_string(c.height[i]) + ")";
    if (c.on_main[i] != 0 && c.on_main[i] != 1) {
      out << "audit: " << where << ": on_main_chain = " << c.on_main[i] << " is not 0 or 1\n";
      return 1;
    }
    if (i == 0 && c.on_main[i] != 1) {
      out << "audit: " << where << ": on_main_chain = 0 for genesis\n";
      return 1;
    }
    if (!c.on_main[i]) continue;
    if (i > 0 && !c.on_main[parent_row[i]]) {
      out << "audit: " << where << ": on_main_chain = 1 but its parent (row " << parent_row[i]
          << ") is not on the main chain\n";
      return 1;
    }
    auto [it, fresh] = main_at.emplace(c.height[i], i);
    if (!fresh) {
      out << "audit: " << where << ": on_main_chain = 1 for a second block at this height (row "
          << it->second << ")\n";
      return 1;
    }
  }
  const auto main_blocks = static_cast<std::int64_t>(main_at.size()) - 1;
  if (c.summary_main >= 0 && main_blocks != c.summary_main) {
    out << "audit: on_main_chain marks " << main_blocks << " blocks after genesis, /chain_summary "
        << "main_blocks = " << c.summary_main << "\n";
    return 1;
  }
  return 0;
}

int check_certificates(const LedgerColumns& c, const KeyRegistry& keys, std::ostream& out) {
  const std::size_t nb = c.height.size();
  std::int64_t total = 0;
  for (std::int64_t p : c.val_power) total += p;
  std::vector<std::int64_t> power(nb, 0), round(nb, -1);
  std::vector<std::vector<std::uint8_t>> seen(nb);
  for (std::size_t j = 0; j < c.cert_block.size(); ++j) {
    const std::string where = "certificate row " + std::to_string(j);
    const std::int64_t b = c.cert_block[j];
    if (b <= 0 || static_cast<std::size_t>(b) >= nb) {
      out << "audit: " << where << ": block row " << b << " is not a recorded non-genesis block\n";
      return 1;
    }
    const auto bi = static_cast<std::size_t>(b);
    if (c.cert_height[j] != c.height[bi]) {
      out << "audit: " << where << ": height " << c.cert_height[j] << " != block row " << b
          << "'s height " << c.height[bi] << "\n";
      return 1;
    }
    if (round[bi] != -1 && c.cert_round[j] != round[bi]) {
      out << "audit: " << where << ": round " << c.cert_round[j] << " differs from the round "
          << round[bi] << " of block row " << b << "'s other precommits\n";
      return 1;
    }
    round[bi] = c.cert_round[j];
    const std::int64_t v = c.cert_validator[j];
    if (v < 0 || v >= static_cast<std::int64_t>(keys.size())) {
      out << "audit: " << where << ": validator " << v << " is not a registered validator\n";
      return 1;
    }
    if (seen[bi].empty()) seen[bi].assign(keys.size(), 0);
    if (seen[bi][static_cast<std::size_t>(v)]++) {
      out << "audit: " << where << ": validator " << v << " appears twice in block row " << b
          << "'s certificate\n";
      return 1;
    }
    const Signature sig{c.cert_sig_r[j], c.cert_sig_s[j]};
    if (!keys.verify(
            v, precommit_signing_message(c.cert_height[j], c.cert_round[j], c.hash[bi]).bytes(),
            sig)) {
      out << "audit: " << where << ": precommit signature of validator " << v << " on (height "
          << c.cert_height[j] << ", round " << c.cert_round[j] << ", block row " << b
          << ") does not verify against its registered key\n";
      return 1;
    }
    power[bi] += c.val_power[static_cast<std::size_t>(v)];
  }
  for (std::size_t i = 1; i < nb; ++i) {
    const bool has = round[i] != -1;
    if (!has && c.consensus == "bft" && c.on_main[i]) {
      out << "audit: block row " << i << " (height " << c.height[i]
          << "): on the main chain of a BFT run but has no commit certificate\n";
      return 1;
    }
    if (has && !(3 * power[i] > 2 * total)) {
      out << "audit: block row " << i << " (height " << c.height[i]
          << "): commit certificate holds voting power " << power[i] << " of " << total
          << ", not more than 2/3\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace

Hash validator_table_digest(const LedgerColumns& c) {
  std::vector<Hash> rows;
  rows.reserve(c.val_id.size());
  for (std::size_t i = 0; i < c.val_id.size() && i < c.val_key.size() && i < c.val_power.size();
       ++i)
    rows.push_back(Encoder().i64(c.val_id[i]).hash(c.val_key[i]).i64(c.val_power[i]).digest());
  return merkle_root(rows);
}

Transaction recorded_transaction(const LedgerColumns& c, std::size_t j) {
  Transaction t;
  t.nonce = static_cast<std::uint64_t>(c.nonce[j]);
  t.sender = static_cast<std::uint32_t>(c.sender[j]);
  t.kind = static_cast<std::uint16_t>(c.kind[j]);
  t.fee = c.fee[j];
  t.gas = c.gas[j];
  t.size = c.size[j];
  t.payload_hash = c.payload_hash[j];
  return t;
}

int audit_ledger(const LedgerColumns& c, std::ostream& out) {
  if (!same_lengths(c, out)) return 1;
  const std::size_t nb = c.height.size();
  const std::size_t nt = c.tx_block.size();

  // The registered keys: ids 0..n-1 in order, positive power, valid Ed25519 encodings.
  for (std::size_t v = 0; v < c.val_id.size(); ++v) {
    if (c.val_id[v] != static_cast<std::int64_t>(v) || c.val_power[v] <= 0) {
      out << "audit: validator row " << v << ": validator " << c.val_id[v] << ", voting_power "
          << c.val_power[v] << " (expected validator " << v << ", voting_power > 0)\n";
      return 1;
    }
  }
  std::unique_ptr<KeyRegistry> keys;
  try {
    keys = std::make_unique<KeyRegistry>(c.val_key);
  } catch (const std::exception& e) {
    out << "audit: /ledger/validators: " << e.what() << "\n";
    return 1;
  }

  // A run killed before its first ledger rows were committed: nothing recorded, nothing to check.
  if (nb == 0 && c.tx_hash.empty() && c.cert_block.empty()) {
    out << "audit: the ledger tables hold no committed row yet (the run stopped before its "
           "first interval was recorded): nothing to check\n";
    return 0;
  }
  if (nb == 0 || c.height[0] != 0 || c.hash[0] != genesis_hash()) {
    out << "audit: block row 0 is not the genesis block\n";
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
  for (std::size_t i = 0; i < nb; ++i) {
    auto [it, fresh] = row_of.emplace(c.hash[i], i);
    if (!fresh) {
      out << "audit: block row " << i << " (height " << c.height[i] << ") duplicates block row "
          << it->second << (c.height[i] == 0 ? " (a second genesis row)" : "") << "\n";
      return 1;
    }
  }
  std::vector<std::size_t> parent_row(nb, 0);

  for (std::size_t i = 0; i < nb; ++i) {
    const std::string where =
        "block row " + std::to_string(i) + " (height " + std::to_string(c.height[i]) + ")";
    if (i > 0 && c.height[i] <= 0) {
      out << "audit: " << where << ": only row 0 may be genesis (height 0)\n";
      return 1;
    }
    // Derived column: written as timestamp_ns x 1e-9, so equality is exact.
    if (!(c.timestamp_s[i] == static_cast<double>(c.timestamp_ns[i]) * 1e-9)) {
      out << "audit: " << where << ": timestamp_s = " << c.timestamp_s[i]
          << " != timestamp_ns x 1e-9 = " << static_cast<double>(c.timestamp_ns[i]) * 1e-9 << "\n";
      return 1;
    }
    BlockHeader h;
    h.height = c.height[i];
    h.parent = c.parent[i];
    if (c.proposer[i] < 0 || c.proposer[i] > 0xffffffffLL) {
      if (!(i == 0 && c.proposer[i] == 0xffffffffLL)) {
        out << "audit: " << where << ": proposer " << c.proposer[i] << " is not a node id\n";
        return 1;
      }
    }
    h.proposer = static_cast<std::uint32_t>(c.proposer[i]);
    h.timestamp_ns = c.timestamp_ns[i];
    h.tx_root = c.tx_root[i];
    h.state_digest = c.state_digest[i];
    h.gas_used = c.gas_used[i];
    h.bytes = c.bytes[i];
    const auto& tx_rows = txs_of[i];
    // Header fields the transactions determine, named before the hash that covers them.
    std::int64_t gas = 0, size = 0;
    for (std::size_t j : tx_rows) {
      gas += c.gas[j];
      size += c.size[j];
    }
    if (i > 0 && gas != c.gas_used[i]) {
      out << "audit: " << where << ": gas_used = " << c.gas_used[i]
          << " != the gas of its transactions " << gas << "\n";
      return 1;
    }
    if (i > 0 && c.header_bytes >= 0 && c.header_bytes + size != c.bytes[i]) {
      out << "audit: " << where << ": bytes = " << c.bytes[i] << " != header_bytes "
          << c.header_bytes << " + its transactions' sizes " << size << "\n";
      return 1;
    }
    if (block_hash(h) != c.hash[i]) {
      out << "audit: " << where << ": stored hash " << to_hex(c.hash[i])
          << " != recomputed header hash " << to_hex(block_hash(h))
          << " (over height, parent, proposer, timestamp_ns, tx_root, state_digest, gas_used, "
             "bytes)\n";
      return 1;
    }
    if (i == 0) {
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
      parent_row[i] = it->second;
    }
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
      if (c.tx_block_height[j] != c.height[i]) {
        out << "audit: " << twhere << ": block_height = " << c.tx_block_height[j]
            << " != its block's height " << c.height[i] << "\n";
        return 1;
      }
      // Fields that the hash encodes with a narrower type must be in range, or a change in
      // their high bits would go unseen.
      if (c.sender[j] < 0 || c.sender[j] > 0xffffffffLL || c.kind[j] < 0 || c.kind[j] > 0xffff ||
          c.size[j] < 0 || c.size[j] > (std::int64_t{1} << 26)) {
        out << "audit: " << twhere << ": sender, kind or size (max 64 MiB) out of range\n";
        return 1;
      }
      const Transaction t = recorded_transaction(c, j);
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
    // The proposer's signature over the header it recorded (genesis is unsigned).
    if (i > 0 && !keys->verify(c.proposer[i], block_signing_message(c.hash[i]).bytes(),
                               Signature{c.sig_r[i], c.sig_s[i]})) {
      out << "audit: " << where << ": signature of proposer " << c.proposer[i]
          << (c.proposer[i] < static_cast<std::int64_t>(keys->size())
                  ? " does not verify against its registered key"
                  : ", which is not a registered validator")
          << "\n";
      return 1;
    }
  }
  if (check_main_chain(c, parent_row, out) != 0) return 1;
  if (check_certificates(c, *keys, out) != 0) return 1;

  // A dropped tail: every block produced is recorded once (the run writes them all at its end).
  const auto recorded = static_cast<std::int64_t>(nb) - 1;
  if (c.summary_blocks >= 0 && recorded != c.summary_blocks) {
    out << "audit: /ledger/blocks has " << recorded << " blocks after genesis, /chain_summary "
        << "says " << c.summary_blocks << "\n";
    return 1;
  }
  if (c.rounds_blocks >= 0 &&
      (c.summary_blocks >= 0 ? recorded != c.rounds_blocks : recorded > c.rounds_blocks)) {
    out << "audit: /ledger/blocks has " << recorded << " blocks after genesis, the /rounds "
        << "blocks column sums to " << c.rounds_blocks << "\n";
    return 1;
  }
  out << "audit: OK, " << nb << " blocks, " << nt << " transactions, " << c.cert_block.size()
      << " certificate signatures verified against " << c.val_id.size()
      << " registered validator keys (validator table digest " << to_hex(validator_table_digest(c))
      << ")" << (c.summary_blocks < 0 ? "; no /chain_summary: the run did not finish" : "") << "\n";
  return 0;
}

LedgerColumns ledger_columns(const std::vector<std::pair<std::string, RecordedTable>>& tables) {
  auto table = [&](const std::string& path) -> const RecordedTable* {
    for (const auto& [p, t] : tables)
      if (p == path) return &t;
    return nullptr;
  };
  auto need = [&](const std::string& path) -> const RecordedTable& {
    const RecordedTable* t = table(path);
    if (!t) throw std::runtime_error("no " + path + " table");
    return *t;
  };
  auto col = [](const RecordedTable& t, const std::string& name) {
    for (std::size_t i = 0; i < t.columns.size(); ++i)
      if (t.columns[i].name == name) return i;
    throw std::runtime_error("ledger column '" + name + "' is missing");
  };
  auto cell = [](const std::vector<core::Cell>& row, std::size_t k) -> const core::Cell& {
    if (k >= row.size()) throw std::runtime_error("ledger row is too short");
    return row[k];
  };
  auto get = [&]<typename T>(const RecordedTable& t, const std::string& name, std::vector<T>& out,
                             const char* type) {
    const std::size_t k = col(t, name);
    for (const auto& r : t.rows) {
      const auto* v = std::get_if<T>(&cell(r, k));
      if (!v) throw std::runtime_error("ledger column '" + name + "' is not " + type);
      out.push_back(*v);
    }
  };
  auto ints = [&](const RecordedTable& t, const std::string& name, std::vector<std::int64_t>& o) {
    get(t, name, o, "int64");
  };
  auto hashes = [&](const RecordedTable& t, const std::string& name, std::vector<Hash>& o) {
    get(t, name, o, "a 32-byte hash");
  };
  LedgerColumns c;
  const RecordedTable& b = need("/ledger/blocks");
  ints(b, "height", c.height);
  ints(b, "proposer", c.proposer);
  ints(b, "timestamp_ns", c.timestamp_ns);
  get(b, "timestamp_s", c.timestamp_s, "float64");
  ints(b, "n_tx", c.n_tx);
  ints(b, "gas_used", c.gas_used);
  ints(b, "bytes", c.bytes);
  ints(b, "on_main_chain", c.on_main);
  hashes(b, "hash", c.hash);
  hashes(b, "parent", c.parent);
  hashes(b, "tx_root", c.tx_root);
  hashes(b, "state_digest", c.state_digest);
  hashes(b, "signature_r", c.sig_r);
  hashes(b, "signature_s", c.sig_s);
  const RecordedTable& t = need("/ledger/txs");
  ints(t, "block", c.tx_block);
  ints(t, "block_height", c.tx_block_height);
  ints(t, "index", c.tx_index);
  ints(t, "nonce", c.nonce);
  ints(t, "sender", c.sender);
  ints(t, "kind", c.kind);
  ints(t, "fee", c.fee);
  ints(t, "gas", c.gas);
  ints(t, "size", c.size);
  hashes(t, "payload_hash", c.payload_hash);
  hashes(t, "tx_hash", c.tx_hash);
  const RecordedTable& v = need("/ledger/validators");
  ints(v, "validator", c.val_id);
  hashes(v, "public_key", c.val_key);
  ints(v, "voting_power", c.val_power);
  const RecordedTable& k = need("/ledger/certificates");
  ints(k, "block", c.cert_block);
  ints(k, "height", c.cert_height);
  ints(k, "round", c.cert_round);
  ints(k, "validator", c.cert_validator);
  hashes(k, "signature_r", c.cert_sig_r);
  hashes(k, "signature_s", c.cert_sig_s);
  if (const RecordedTable* s = table("/chain_summary")) {
    std::vector<std::int64_t> blocks, main;
    ints(*s, "blocks", blocks);
    ints(*s, "main_blocks", main);
    if (blocks.size() != 1 || main.size() != 1)
      throw std::runtime_error("/chain_summary must have one row");
    c.summary_blocks = blocks[0];
    c.summary_main = main[0];
  }
  return c;
}

LedgerColumns ledger_columns(const core::MemorySink& sink) {
  std::vector<std::pair<std::string, RecordedTable>> tables;
  for (const auto& [path, t] : sink.tables)
    tables.emplace_back(path, RecordedTable{t->columns, t->rows});
  LedgerColumns c = ledger_columns(tables);
  for (const auto& [name, value] : sink.meta_str)
    if (name == "chain.consensus") c.consensus = value;
  for (const auto& [name, value] : sink.meta_int)
    if (name == "chain.header_bytes") c.header_bytes = value;
  double sum = 0;
  for (double x : sink.column("blocks")) sum += std::isnan(x) ? 0 : x;
  if (!sink.rounds.empty()) c.rounds_blocks = static_cast<std::int64_t>(sum);
  return c;
}

}  // namespace ledgerfl::chain
