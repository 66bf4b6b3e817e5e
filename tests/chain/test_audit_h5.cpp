// File-level audit: a recorded run passes; flipped bytes never pass with a changed ledger.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "sim/chain/audit.hpp"
#include "sim/chain/poa.hpp"
#include "sim/chain/simulation.hpp"
#include "sim/core/rng.hpp"
#include "sim/metrics/reader.hpp"
#include "sim/metrics/writer.hpp"

using namespace ledgerfl;
using namespace ledgerfl::chain;
using core::SimTime;

namespace {

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_bytes(const std::string& path, const std::vector<char>& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(b.data(), static_cast<std::streamsize>(b.size()));
}
bool same_ledger(const LedgerColumns& a, const LedgerColumns& b) {
  return a.height == b.height && a.proposer == b.proposer && a.timestamp_ns == b.timestamp_ns &&
         a.n_tx == b.n_tx && a.hash == b.hash && a.parent == b.parent && a.tx_root == b.tx_root &&
         a.state_digest == b.state_digest && a.tx_block == b.tx_block && a.tx_index == b.tx_index &&
         a.nonce == b.nonce && a.sender == b.sender && a.kind == b.kind && a.fee == b.fee &&
         a.gas == b.gas && a.size == b.size && a.payload_hash == b.payload_hash &&
         a.tx_hash == b.tx_hash && a.gas_used == b.gas_used && a.bytes == b.bytes &&
         a.on_main == b.on_main && a.timestamp_s == b.timestamp_s && a.sig_r == b.sig_r &&
         a.sig_s == b.sig_s && a.tx_block_height == b.tx_block_height && a.val_id == b.val_id &&
         a.val_key == b.val_key && a.val_power == b.val_power && a.cert_block == b.cert_block &&
         a.cert_height == b.cert_height && a.cert_round == b.cert_round &&
         a.cert_validator == b.cert_validator && a.cert_sig_r == b.cert_sig_r &&
         a.cert_sig_s == b.cert_sig_s;
}
LedgerColumns read_ledger(const std::string& path) {
  metrics::H5Reader r(path);
  std::vector<std::pair<std::string, RecordedTable>> tables;
  for (const char* t :
       {"/ledger/blocks", "/ledger/txs", "/ledger/validators", "/ledger/certificates"})
    tables.emplace_back(t, RecordedTable{r.table_columns(t), r.table_rows(t)});
  return ledger_columns(tables);
}

}  // namespace

TEST_CASE("audit_run: 0 for a recorded run, 2 for unreadable, never 0 for a changed ledger") {
  const std::string dir = LEDGERFL_BINARY_DIR;
  const std::string path = dir + "/test_chain_audit.h5";
  const std::string bad = dir + "/test_chain_audit_tampered.h5";
  {
    net::NetworkSpec s;
    s.options.validators = 4;
    s.options.regions = net::single_region(20.0, 1e8);
    s.overlay = net::complete_graph(4);
    PoissonWorkloadOptions w;
    w.rate = 2;
    ChainSimOptions o;
    o.duration = SimTime::s(60);
    o.metrics_interval = SimTime::s(20);
    PoaOptions poa;
    ChainSimulation sim(
        o, std::move(s), std::make_unique<PoissonWorkload>(w, 1),
        [&](ChainContext& ctx) { return make_poa(poa, ctx); }, 1);
    metrics::H5Writer writer(path);
    sim.run(writer);
    writer.on_finish();
  }
  std::ostringstream out;
  REQUIRE(audit_run(path, out) == 0);
  CHECK(audit_run(dir + "/no_such_run.h5", out) == 2);
  // The final digest is printed; --expect pins it.
  const std::string text = out.str();
  const std::size_t at = text.find("\ndigest ");
  REQUIRE(at != std::string::npos);
  const std::string digest = text.substr(at + 8, 64);
  CHECK(audit_run(path, out, digest) == 0);
  CHECK(audit_run(path, out, std::string(64, '0')) == 1);

  const LedgerColumns original = read_ledger(path);
  REQUIRE(original.tx_hash.size() > 50);
  const std::vector<char> bytes = read_bytes(path);
  core::Rng rng(7, "tamper.file");
  int detected = 0, untouched = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::vector<char> b = bytes;
    b[rng.below(b.size())] ^= static_cast<char>(1 + rng.below(255));
    write_bytes(bad, b);
    std::ostringstream o2;
    const int rc = audit_run(bad, o2);
    if (rc != 0) {
      ++detected;
      continue;
    }
    // Passing is only allowed when the flip missed the ledger (e.g. hit /rounds or padding).
    CHECK(same_ledger(read_ledger(bad), original));
    ++untouched;
  }
  CHECK(detected > 0);
  MESSAGE("file tamper trials: " << detected << " detected, " << untouched
                                 << " outside the ledger data");
  std::remove(path.c_str());
  std::remove(bad.c_str());
}

TEST_CASE("audit_run on a learning run: the digest chain only, exit 0; a changed round fails") {
  const std::string path = std::string(LEDGERFL_BINARY_DIR) + "/test_audit_learning.h5";
  {
    metrics::H5Writer w(path);
    for (int r = 0; r < 4; ++r) {
      core::RoundSummary s;
      s.add("test_accuracy", 0.1 * r);
      w.on_round(s);
    }
    w.on_finish();
  }
  std::ostringstream out;
  CHECK(audit_run(path, out) == 0);
  CHECK(out.str().find("no ledger") != std::string::npos);
  std::remove(path.c_str());
}
