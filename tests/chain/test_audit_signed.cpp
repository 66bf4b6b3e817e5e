// Signed ledgers: every recorded header field is covered, signatures and BFT commit
// certificates are verified against the registered validator keys (recorded runs in HDF5).
#include <doctest/doctest.h>

#include <cstdio>
#include <map>
#include <sstream>

#include "sim/chain/audit.hpp"
#include "sim/chain/bft.hpp"
#include "sim/chain/keys.hpp"
#include "sim/chain/poa.hpp"
#include "sim/chain/simulation.hpp"
#include "sim/metrics/reader.hpp"
#include "sim/metrics/writer.hpp"

using namespace ledgerfl;
using namespace ledgerfl::chain;
using core::SimTime;

namespace {

enum class Engine { kPoa, kBft };

// Records a small run of 4 validators to an HDF5 file and reads back what `audit` reads.
LedgerColumns recorded(Engine e, std::uint64_t seed, const std::string& name) {
  const std::string path = std::string(LEDGERFL_BINARY_DIR) + "/" + name + ".h5";
  {
    net::NetworkSpec s;
    s.options.validators = 4;
    s.options.regions = net::single_region(20.0, 1e8);
    s.overlay = net::complete_graph(4);
    PoissonWorkloadOptions w;
    w.rate = 3;
    ChainSimOptions o;
    o.duration = SimTime::s(60);
    o.metrics_interval = SimTime::s(20);
    ChainSimulation sim(
        o, std::move(s), std::make_unique<PoissonWorkload>(w, seed),
        [&](ChainContext& ctx) -> std::unique_ptr<Consensus> {
          if (e == Engine::kPoa) return make_poa(PoaOptions{}, ctx);
          return make_bft(BftOptions{}, ctx);
        },
        seed);
    metrics::H5Writer writer(path);
    sim.run(writer);
    writer.on_finish();
  }
  std::ostringstream out;
  REQUIRE(audit_run(path, out) == 0);
  metrics::H5Reader r(path);
  std::vector<std::pair<std::string, RecordedTable>> tables;
  for (const char* t : {"/ledger/blocks", "/ledger/txs", "/ledger/validators",
                        "/ledger/certificates", "/chain_summary"})
    tables.emplace_back(t, RecordedTable{r.table_columns(t), r.table_rows(t)});
  LedgerColumns c = ledger_columns(tables);
  c.consensus = r.meta_string("chain.consensus").value_or("");
  c.header_bytes = r.meta_int("chain.header_bytes").value_or(-1);
  c.rounds_blocks = 0;
  for (auto b : r.round_column_int("blocks")) c.rounds_blocks += b;
  std::remove(path.c_str());
  return c;
}

// Runs the audit on c; returns its message (empty if it passed).
std::string failure(const LedgerColumns& c) {
  std::ostringstream out;
  const int rc = audit_ledger(c, out);
  return rc == 0 ? std::string() : out.str();
}

// A middle main-chain block row with transactions.
std::size_t main_block(const LedgerColumns& c) {
  for (std::size_t i = c.height.size() / 2; i < c.height.size(); ++i)
    if (c.on_main[i] && c.n_tx[i] > 0) return i;
  FAIL("no main-chain block with transactions");
  return 0;
}

template <typename T>
void erase_rows(std::vector<T>& v, const std::vector<bool>& drop) {
  std::vector<T> kept;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!drop[i]) kept.push_back(v[i]);
  v.swap(kept);
}

void drop_certificate_rows(LedgerColumns& c, const std::vector<bool>& drop) {
  erase_rows(c.cert_block, drop);
  erase_rows(c.cert_height, drop);
  erase_rows(c.cert_round, drop);
  erase_rows(c.cert_validator, drop);
  erase_rows(c.cert_sig_r, drop);
  erase_rows(c.cert_sig_s, drop);
}

// An attacker without the keys rewrites the whole chain consistently: changes one transaction's
// fee, then recomputes every transaction hash, Merkle root and block hash (parents follow),
// and, if `keys` is given, re-signs headers and certificates and replaces the validator table.
void rewrite_chain(LedgerColumns& c, const ValidatorKeys* keys) {
  c.fee[c.fee.size() / 2] += 1;
  std::map<Hash, Hash> renamed;
  std::vector<std::vector<std::size_t>> txs_of(c.height.size());
  for (std::size_t j = 0; j < c.tx_block.size(); ++j) {
    c.tx_hash[j] = transaction_hash(recorded_transaction(c, j));
    txs_of[static_cast<std::size_t>(c.tx_block[j])].push_back(j);
  }
  for (std::size_t i = 1; i < c.height.size(); ++i) {
    std::vector<Hash> leaves;
    for (std::size_t j : txs_of[i]) leaves.push_back(c.tx_hash[j]);
    BlockHeader h;
    h.height = c.height[i];
    h.parent = renamed.count(c.parent[i]) ? renamed[c.parent[i]] : c.parent[i];
    h.proposer = static_cast<std::uint32_t>(c.proposer[i]);
    h.timestamp_ns = c.timestamp_ns[i];
    h.tx_root = merkle_root(leaves);
    h.state_digest = c.state_digest[i];
    h.gas_used = c.gas_used[i];
    h.bytes = c.bytes[i];
    c.parent[i] = h.parent;
    c.tx_root[i] = h.tx_root;
    renamed[c.hash[i]] = block_hash(h);
    c.hash[i] = block_hash(h);
    if (keys) {
      const Signature s = keys->sign(h.proposer, block_signing_message(c.hash[i]).bytes());
      c.sig_r[i] = s.r;
      c.sig_s[i] = s.s;
    }
  }
  if (!keys) return;
  for (std::size_t j = 0; j < c.cert_block.size(); ++j) {
    const Signature s =
        keys->sign(static_cast<std::uint32_t>(c.cert_validator[j]),
                   precommit_signing_message(c.cert_height[j], c.cert_round[j],
                                             c.hash[static_cast<std::size_t>(c.cert_block[j])])
                       .bytes());
    c.cert_sig_r[j] = s.r;
    c.cert_sig_s[j] = s.s;
  }
  for (std::size_t v = 0; v < c.val_key.size(); ++v)
    c.val_key[v] = keys->public_key(static_cast<std::uint32_t>(v));
}

bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE(
    "Ed25519 keys: deterministic per (seed, validator), signatures verify, forgeries do not") {
  const ValidatorKeys a(1, 3), b(1, 3), c(2, 3);
  CHECK(a.public_key(0) == b.public_key(0));
  CHECK(a.public_key(0) != a.public_key(1));
  CHECK(a.public_key(0) != c.public_key(0));
  const Encoder m = block_signing_message(sha256({}));
  const Signature s = a.sign(1, m.bytes());
  CHECK(s == b.sign(1, m.bytes()));  // Ed25519 is deterministic (RFC 8032)
  const std::vector<PublicKey> pubs = {a.public_key(0), a.public_key(1), a.public_key(2)};
  const KeyRegistry reg(pubs);
  CHECK(reg.verify(1, m.bytes(), s));
  CHECK_FALSE(reg.verify(0, m.bytes(), s));  // another validator's key
  CHECK_FALSE(reg.verify(7, m.bytes(), s));  // not registered
  Signature forged = s;
  forged.s[3] ^= 1;
  CHECK_FALSE(reg.verify(1, m.bytes(), forged));
  // A block signature is not a precommit signature (domain tags).
  CHECK_FALSE(reg.verify(1, precommit_signing_message(0, 0, sha256({})).bytes(), s));
}

TEST_CASE("audit names every tampered header field, derived column and count") {
  for (Engine e : {Engine::kPoa, Engine::kBft}) {
    CAPTURE(static_cast<int>(e));
    const LedgerColumns clean = recorded(e, 3, "test_signed_fields");
    REQUIRE(failure(clean).empty());
    REQUIRE(clean.height.size() > 10);
    const std::size_t i = main_block(clean);
    auto tampered = [&](auto change) {
      LedgerColumns c = clean;
      change(c);
      return failure(c);
    };
    CHECK(contains(tampered([&](LedgerColumns& c) { c.timestamp_s[i] += 1e-3; }), "timestamp_s"));
    CHECK(contains(tampered([&](LedgerColumns& c) {  // consistent timestamp_s: the hash sees it
                     c.timestamp_ns[i] += 1000;
                     c.timestamp_s[i] = static_cast<double>(c.timestamp_ns[i]) * 1e-9;
                   }),
                   "header hash"));
    CHECK(contains(tampered([&](LedgerColumns& c) { c.gas_used[i] += 1; }), "gas_used"));
    CHECK(contains(tampered([&](LedgerColumns& c) { c.bytes[i] += 1; }), "bytes"));
    // gas_used and bytes are in the header hash even where no other check sees them.
    CHECK(contains(tampered([&](LedgerColumns& c) {
                     c.header_bytes = -1;
                     c.bytes[i] += 1;
                   }),
                   "header hash"));
    CHECK(contains(tampered([&](LedgerColumns& c) { c.on_main[i] = 0; }), "on_main_chain"));
    CHECK(contains(tampered([&](LedgerColumns& c) { c.on_main.back() ^= 1; }), "on_main_chain"));
    CHECK(contains(tampered([&](LedgerColumns& c) {
                     const std::size_t j = c.tx_block_height.size() / 2;
                     c.tx_block_height[j] += 1;
                   }),
                   "block_height"));
    // An appended duplicate genesis row.
    CHECK(contains(tampered([&](LedgerColumns& c) {
                     c.height.push_back(c.height[0]);
                     c.proposer.push_back(c.proposer[0]);
                     c.timestamp_ns.push_back(c.timestamp_ns[0]);
                     c.timestamp_s.push_back(c.timestamp_s[0]);
                     c.n_tx.push_back(c.n_tx[0]);
                     c.gas_used.push_back(c.gas_used[0]);
                     c.bytes.push_back(c.bytes[0]);
                     c.on_main.push_back(0);
                     c.hash.push_back(c.hash[0]);
                     c.parent.push_back(c.parent[0]);
                     c.tx_root.push_back(c.tx_root[0]);
                     c.state_digest.push_back(c.state_digest[0]);
                     c.sig_r.push_back(c.sig_r[0]);
                     c.sig_s.push_back(c.sig_s[0]);
                   }),
                   "second genesis"));
    // A dropped tail: the last block rows (and what references them) are cut off.
    auto drop_tail = [&](LedgerColumns& c, std::size_t n) {
      const std::size_t keep = c.height.size() - n;
      for (auto* v :
           {&c.height, &c.proposer, &c.timestamp_ns, &c.n_tx, &c.gas_used, &c.bytes, &c.on_main})
        v->resize(keep);
      c.timestamp_s.resize(keep);
      for (auto* v : {&c.hash, &c.parent, &c.tx_root, &c.state_digest, &c.sig_r, &c.sig_s})
        v->resize(keep);
      std::size_t nt = 0;
      while (nt < c.tx_block.size() && c.tx_block[nt] < static_cast<std::int64_t>(keep)) ++nt;
      for (auto* v : {&c.tx_block, &c.tx_block_height, &c.tx_index, &c.nonce, &c.sender, &c.kind,
                      &c.fee, &c.gas, &c.size})
        v->resize(nt);
      c.payload_hash.resize(nt);
      c.tx_hash.resize(nt);
      std::vector<bool> drop(c.cert_block.size());
      for (std::size_t j = 0; j < drop.size(); ++j)
        drop[j] = c.cert_block[j] >= static_cast<std::int64_t>(keep);
      drop_certificate_rows(c, drop);
    };
    CHECK(contains(tampered([&](LedgerColumns& c) { drop_tail(c, 3); }), "/chain_summary"));
    // Without /chain_summary (a killed run) the /rounds sums still bound the rows from above.
    CHECK(contains(tampered([&](LedgerColumns& c) {
                     c.summary_blocks = c.summary_main = -1;
                     c.rounds_blocks -= 1;
                   }),
                   "/rounds"));
    LedgerColumns no_summary = clean;
    no_summary.summary_blocks = no_summary.summary_main = -1;
    CHECK(failure(no_summary).empty());
  }
}

TEST_CASE("audit: forged signatures, a certificate below 2/3, a missing certificate") {
  const LedgerColumns clean = recorded(Engine::kBft, 5, "test_signed_bft");
  REQUIRE(failure(clean).empty());
  REQUIRE(clean.cert_block.size() > 20);
  const std::size_t i = main_block(clean);
  {
    LedgerColumns c = clean;
    c.sig_r[i][5] ^= 0x20;
    CHECK(contains(failure(c), "signature of proposer"));
  }
  {
    LedgerColumns c = clean;  // a header signed by another validator's key
    c.proposer[i] = (c.proposer[i] + 1) % 4;
    CHECK(!failure(c).empty());
  }
  {
    LedgerColumns c = clean;
    c.cert_sig_s[c.cert_sig_s.size() / 2][0] ^= 1;
    CHECK(contains(failure(c), "precommit signature"));
  }
  {
    LedgerColumns c = clean;  // a certificate moved to another round: its signatures break
    c.cert_round[0] += 1;
    CHECK(!failure(c).empty());
  }
  // 4 validators of power 1: a certificate needs 3. Keep 2 of block i's precommits.
  {
    LedgerColumns c = clean;
    std::vector<bool> drop(c.cert_block.size());
    int kept = 0;
    for (std::size_t j = 0; j < drop.size(); ++j)
      if (c.cert_block[j] == static_cast<std::int64_t>(i)) drop[j] = ++kept > 2;
    REQUIRE(kept >= 3);
    drop_certificate_rows(c, drop);
    CHECK(contains(failure(c), "not more than 2/3"));
  }
  {
    LedgerColumns c = clean;  // duplicating a precommit does not add power
    std::size_t j = 0;
    while (c.cert_block[j] != static_cast<std::int64_t>(i)) ++j;
    for (auto* v : {&c.cert_block, &c.cert_height, &c.cert_round, &c.cert_validator})
      v->push_back((*v)[j]);
    c.cert_sig_r.push_back(c.cert_sig_r[j]);
    c.cert_sig_s.push_back(c.cert_sig_s[j]);
    CHECK(contains(failure(c), "appears twice"));
  }
  {
    LedgerColumns c = clean;
    std::vector<bool> drop(c.cert_block.size());
    for (std::size_t j = 0; j < drop.size(); ++j)
      drop[j] = c.cert_block[j] == static_cast<std::int64_t>(i);
    drop_certificate_rows(c, drop);
    CHECK(contains(failure(c), "no commit certificate"));
  }
  {
    LedgerColumns c = clean;  // a stronger validator table does not help a stale file
    c.val_power[0] = 0;
    CHECK(contains(failure(c), "voting_power"));
  }
}

TEST_CASE(
    "a rewritten chain with recomputed hashes is detected unless the keys are replaced; "
    "the validator table digest pins the keys") {
  for (Engine e : {Engine::kPoa, Engine::kBft}) {
    CAPTURE(static_cast<int>(e));
    const LedgerColumns clean = recorded(e, 7, "test_signed_rewrite");
    {
      LedgerColumns c = clean;
      rewrite_chain(c, nullptr);
      CHECK(contains(failure(c), "signature of proposer"));
    }
    {
      LedgerColumns c = clean;  // hashes only: the first changed block's hash is recomputed
      c.fee[c.fee.size() / 2] += 1;
      CHECK(contains(failure(c), "transaction hash"));
    }
    // With keys of its own, the attacker passes the audit, but the table digest changes.
    const ValidatorKeys attacker(999, 4);
    LedgerColumns c = clean;
    rewrite_chain(c, &attacker);
    CHECK(failure(c).empty());
    CHECK(validator_table_digest(c) != validator_table_digest(clean));
  }
}

TEST_CASE("signatures and certificates are deterministic: same seed, same bytes") {
  const LedgerColumns a = recorded(Engine::kBft, 11, "test_signed_det_a");
  const LedgerColumns b = recorded(Engine::kBft, 11, "test_signed_det_b");
  const LedgerColumns c = recorded(Engine::kBft, 12, "test_signed_det_c");
  CHECK(a.sig_r == b.sig_r);
  CHECK(a.sig_s == b.sig_s);
  CHECK(a.cert_validator == b.cert_validator);
  CHECK(a.cert_sig_r == b.cert_sig_r);
  CHECK(a.cert_sig_s == b.cert_sig_s);
  CHECK(a.val_key == b.val_key);
  CHECK(validator_table_digest(a) == validator_table_digest(b));
  CHECK(a.val_key != c.val_key);
}
