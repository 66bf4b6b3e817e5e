// Tests of sim/chain: hashing, ledger, mempool, consensus engines (closed forms, safety,
// liveness), the chain simulation driver and the ledger audit.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <tuple>

#include "sim/chain/audit.hpp"
#include "sim/chain/bft.hpp"
#include "sim/chain/hash.hpp"
#include "sim/chain/ledger.hpp"
#include "sim/chain/poa.hpp"
#include "sim/chain/pos.hpp"
#include "sim/chain/pow.hpp"
#include "sim/chain/registry.hpp"
#include "sim/chain/simulation.hpp"
#include "sim/core/rng.hpp"
#include "sim/scenario/params.hpp"

#include <tbb/task_arena.h>

using namespace ledgerfl;
using namespace ledgerfl::chain;
using core::SimTime;

namespace {

net::NetworkSpec spec(std::uint32_t validators, net::Graph g, double latency_ms, double bps) {
  net::NetworkSpec s;
  s.options.validators = validators;
  s.options.regions = net::single_region(latency_ms, bps);
  s.overlay = std::move(g);
  return s;
}

std::unique_ptr<Workload> poisson(double rate, std::uint64_t seed) {
  PoissonWorkloadOptions o;
  o.rate = rate;
  return std::make_unique<PoissonWorkload>(o, seed);
}

ChainSimOptions sim_options(SimTime duration, SimTime interval) {
  ChainSimOptions o;
  o.duration = duration;
  o.metrics_interval = interval;
  return o;
}

Hash hash_of(const std::string& s) {
  return sha256({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}

}  // namespace

TEST_CASE("SHA-256 and Merkle roots") {
  CHECK(to_hex(hash_of("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const Hash a = hash_of("a"), b = hash_of("b"), c = hash_of("c");
  auto pair = [](const Hash& l, const Hash& r) { return Encoder().hash(l).hash(r).digest(); };
  CHECK(merkle_root(std::vector<Hash>{a}) == a);
  CHECK(merkle_root(std::vector<Hash>{a, b}) == pair(a, b));
  CHECK(merkle_root(std::vector<Hash>{a, b, c}) == pair(pair(a, b), pair(c, c)));
  CHECK(merkle_root(std::vector<Hash>{}) == sha256({}));
  CHECK(merkle_root(std::vector<Hash>{b, a}) != merkle_root(std::vector<Hash>{a, b}));
}

TEST_CASE("mempool orders by fee and respects gas and byte limits") {
  Ledger l;
  for (int i = 0; i < 6; ++i) {
    Transaction t;
    t.nonce = static_cast<std::uint64_t>(i);
    t.fee = (i % 3) + 1;  // fees 1 2 3 1 2 3
    t.gas = 100;
    t.size = i == 5 ? 900 : 100;
    l.submit(t);
  }
  CHECK(l.pool.size() == 6);
  auto taken = l.pool.take(350, 1100, l.txs);  // room for 3 by gas; tx 5 (fee 3) is 900 bytes
  REQUIRE(taken.size() == 3);
  CHECK(taken[0] == 2);  // fee 3, oldest
  CHECK(taken[1] == 5);  // fee 3 (100 + 900 bytes)
  CHECK(taken[2] == 1);  // fee 2 fills the byte limit (1100); tx 4 (fee 2) is over the gas
  CHECK(l.pool.size() == 3);
  auto rest = l.pool.take(1000, 150, l.txs);  // only one fits by bytes
  CHECK(rest == std::vector<std::uint32_t>{4});
}

TEST_CASE("block tree: canonical head, reorg events, finality, stale transactions") {
  Ledger l;
  for (int i = 0; i < 4; ++i) {
    Transaction t;
    t.nonce = static_cast<std::uint64_t>(i);
    t.fee = 1;
    t.gas = 21000;
    t.size = 100;
    l.submit(t);
  }
  std::vector<ReorgEvent> reorgs;
  l.tree.on_reorg([&](const ReorgEvent& e) { reorgs.push_back(e); });
  const auto a1 = l.build_block(0, 1, SimTime::s(1));  // takes all 4 txs
  l.tree.set_head(a1, SimTime::s(1));
  CHECK(l.pool.size() == 0);
  const auto b1 = l.build_block(0, 2, SimTime::s(2));  // empty (pool drained)
  const auto b2 = l.build_block(b1, 2, SimTime::s(3));
  CHECK(l.tree.at(b2).header.parent == l.tree.at(b1).hash);
  CHECK(l.tree.at(b2).hash == block_hash(l.tree.at(b2).header));
  l.tree.set_head(b2, SimTime::s(3));
  REQUIRE(reorgs.size() == 1);
  CHECK(reorgs[0].old_head == a1);
  CHECK(reorgs[0].depth == 1);
  CHECK(!l.tree.at(a1).on_main);
  CHECK(l.pool.size() == 4);  // a1's transactions returned to the mempool
  l.tree.finalize(b2, SimTime::s(4));
  CHECK(l.tree.at(b1).finalized());
  CHECK(l.stale_blocks() == 1);
  CHECK(l.tree.finality_conflicts() == 0);
  l.tree.finalize(a1, SimTime::s(5));  // off the canonical chain: a safety failure
  CHECK(l.tree.finality_conflicts() == 1);
}

TEST_CASE("fork choice: longest chain vs GHOST's heaviest subtree, orphans wait for parents") {
  Ledger l;
  // Branch A: a1 <- a2 <- a3 (longest). Branch B: b1 with three children (heaviest: 4 blocks).
  const auto a1 = l.build_block(0, 0, SimTime::s(1));
  const auto a2 = l.build_block(a1, 0, SimTime::s(2));
  const auto a3 = l.build_block(a2, 0, SimTime::s(3));
  const auto b1 = l.build_block(0, 1, SimTime::s(4));
  const auto c1 = l.build_block(b1, 1, SimTime::s(5));
  const auto c2 = l.build_block(b1, 2, SimTime::s(6));
  const auto c3 = l.build_block(b1, 3, SimTime::s(7));
  for (ForkChoice fc : {ForkChoice::kLongest, ForkChoice::kGhost}) {
    NodeViews views(l, 1, fc);
    for (auto b : {a1, a2, a3, b1, c1, c2, c3}) views.receive(0, b);
    if (fc == ForkChoice::kLongest) {
      CHECK(views.head(0) == a3);
    } else {
      CHECK(views.head(0) == c1);  // equal children: the first seen
    }
  }
  NodeViews views(l, 1, ForkChoice::kLongest);
  CHECK(views.receive(0, a3).empty());  // parent unknown: held
  CHECK(views.receive(0, a2).empty());
  const auto& acc = views.receive(0, a1);  // releases a2, then a3
  CHECK(acc == std::vector<std::uint32_t>{a1, a2, a3});
  CHECK(views.head(0) == a3);
}

TEST_CASE("PoW stale rate matches the closed form for two miners and a fixed delay") {
  // Two equal miners, fixed one-way delay tau, mean block time T. A block found by one miner
  // forks when the other finds a block before hearing of it: rate 1/(2T) over tau, so the
  // fork (= stale) probability per main-chain block is 1 - exp(-tau / (2T)) (Decker &
  // Wattenhofer 2013, eq. 2, with the other miner's share 1/2). Second-order effects (forks
  // during forks) stay below 5 % of that value here.
  const double tau = 1.0, T = 10.0;
  PowOptions o;
  o.block_interval = SimTime::s(10);
  o.confirmations = 6;
  ChainSimulation sim(
      sim_options(SimTime::s(200'000), SimTime::s(20'000)),
      spec(2, net::complete_graph(2), tau * 1e3, 1e12), nullptr,
      [&](ChainContext& ctx) { return make_pow(o, ctx); }, 3);
  core::MemorySink sink;
  sim.run(sink);
  const auto& s = sim.summary();
  const double expect = 1 - std::exp(-tau / (2 * T));  // 0.0488
  const double measured = static_cast<double>(s.stale_blocks) / s.main_blocks;
  CAPTURE(s.blocks);
  CAPTURE(measured);
  CHECK(s.blocks > 19000);
  // sd of the stale count ~ sqrt(950) ~ 31 (3.3 %); tolerance 12 % covers 3 sd + model error.
  CHECK(measured == doctest::Approx(expect).epsilon(0.12));
  CHECK(s.safety_violations == 0);
  // Mean block interval of the main chain is T / (1 - stale share).
  CHECK(s.mean_block_interval_s == doctest::Approx(T * s.blocks / s.main_blocks).epsilon(0.05));
}

TEST_CASE("PoW with GHOST fork choice and many miners stays consistent") {
  PowOptions o;
  o.block_interval = SimTime::s(5);
  o.fork_choice = ForkChoice::kGhost;
  ChainSimulation sim(
      sim_options(SimTime::s(3000), SimTime::s(600)),
      spec(30, net::random_regular(30, 4, 1), 400.0, 1e7), poisson(5, 1),
      [&](ChainContext& ctx) { return make_pow(o, ctx); }, 4);
  core::MemorySink sink;
  sim.run(sink);
  const auto& s = sim.summary();
  CHECK(s.stale_blocks > 0);  // 0.4 s hops vs 5 s blocks: forks happen
  CHECK(s.main_blocks > 400);
  CHECK(s.safety_violations == 0);
  CHECK(audit_ledger(ledger_columns(sink), std::cout) == 0);
}

TEST_CASE("PoA: round-robin proposers, a crashed proposer leaves its slot empty") {
  auto s = spec(4, net::complete_graph(4), 20.0, 1e8);
  s.options.crashes.push_back({2, SimTime::ms(500), SimTime::max()});
  PoaOptions o;
  o.interval = SimTime::s(2);
  ChainSimulation sim(
      sim_options(SimTime::s(400), SimTime::s(40)), std::move(s), poisson(10, 2),
      [&](ChainContext& ctx) { return make_poa(o, ctx); }, 5);
  core::MemorySink sink;
  sim.run(sink);
  const BlockTree& t = sim.ledger().tree;
  // 200 slots, proposer slot % 4; every slot of validator 2 is empty.
  CHECK(t.size() - 1 == 150);
  for (std::uint32_t b = 1; b < t.size(); ++b) {
    CHECK(t.at(b).header.proposer != 2);
    CHECK(t.at(b).on_main);
  }
  double missed = 0;
  for (double x : sink.column("missed_slots")) missed += x;
  CHECK(missed == 50);
  CHECK(sim.summary().stale_blocks == 0);
  CHECK(sim.summary().txs_on_main > 3000);
  // Finality: floor(4/2)+1 = 3 blocks on top; finalized within 3 slots (+ at most one skip).
  CHECK(sim.summary().finality_latency_mean_s <= 8.5);
  CHECK(audit_ledger(ledger_columns(sink), std::cout) == 0);
}

TEST_CASE("PoS proposers are drawn in proportion to stake (chi-square)") {
  const std::vector<double> stake = {1, 2, 3, 4};
  std::vector<double> cdf;
  double acc = 0;
  for (double s : stake) cdf.push_back((acc += s) / 10.0);
  // Direct draws from a chain of hashes.
  std::vector<int> count(4, 0);
  Hash h = hash_of("genesis");
  const int n = 4000;
  for (int s = 1; s <= n; ++s) {
    ++count[pos_proposer(h, static_cast<std::uint64_t>(s), cdf)];
    h = sha256(h);
  }
  double chi2 = 0;
  for (int i = 0; i < 4; ++i) {
    const double e = n * stake[static_cast<std::size_t>(i)] / 10.0;
    chi2 += (count[static_cast<std::size_t>(i)] - e) * (count[static_cast<std::size_t>(i)] - e) / e;
  }
  CHECK(chi2 < 16.27);  // chi-square(3) at p = 0.001

  // End to end: the proposers of a simulated PoS chain.
  PosOptions o;
  o.stake = stake;
  o.slots_per_epoch = 8;
  ChainSimulation sim(
      sim_options(SimTime::s(12 * 3000), SimTime::s(3600)),
      spec(4, net::complete_graph(4), 50.0, 1e8), nullptr,
      [&](ChainContext& ctx) { return make_pos(o, ctx); }, 6);
  core::MemorySink sink;
  sim.run(sink);
  const BlockTree& t = sim.ledger().tree;
  std::vector<int> by(4, 0);
  for (std::uint32_t b = 1; b < t.size(); ++b) ++by[t.at(b).header.proposer];
  const double total = t.size() - 1.0;
  CHECK(total == 3000);
  chi2 = 0;
  for (int i = 0; i < 4; ++i) {
    const double e = total * stake[static_cast<std::size_t>(i)] / 10.0;
    chi2 += (by[static_cast<std::size_t>(i)] - e) * (by[static_cast<std::size_t>(i)] - e) / e;
  }
  CHECK(chi2 < 16.27);
  // Epoch finality: justified epochs finalize; latency about 1.5-3 epochs of 96 s.
  CHECK(sim.summary().finality_latency_mean_s > 96);
  CHECK(sim.summary().finality_latency_mean_s < 3 * 96 + 12);
  CHECK(sim.summary().safety_violations == 0);
}

TEST_CASE("PoS: an offline proposer misses its slots") {
  auto s = spec(8, net::complete_graph(8), 50.0, 1e8);
  s.options.crashes.push_back({3, SimTime::s(1), SimTime::max()});
  PosOptions o;
  o.finality = PosFinality::kDepth;
  o.depth = 4;
  ChainSimulation sim(
      sim_options(SimTime::s(12 * 800), SimTime::s(960)), std::move(s), nullptr,
      [&](ChainContext& ctx) { return make_pos(o, ctx); }, 7);
  core::MemorySink sink;
  sim.run(sink);
  double missed = 0;
  for (double x : sink.column("missed_slots")) missed += x;
  CHECK(missed == doctest::Approx(100).epsilon(0.35));  // 800 slots / 8 validators
  CHECK(static_cast<double>(sim.ledger().tree.size() - 1) + missed == 800);
}

namespace {

struct BftRun {
  std::uint64_t violations = 0;
  bool honest_agree = true;
  std::int64_t min_honest_height = 0;
  std::vector<std::int64_t> head_height;  // per interval
};

BftRun run_bft(std::uint32_t n, std::vector<net::NodeId> byz, std::uint64_t seed, SimTime duration,
               SimTime interval, const std::function<void(net::NetworkOptions&)>& faults = {},
               std::vector<std::int64_t> power = {}) {
  auto s = spec(n, net::complete_graph(n), 60.0, 1e8);
  s.options.latency.kind = net::LatencyKind::kLognormal;
  s.options.latency.sigma = 1.0;
  s.options.latency.jitter = SimTime::ms(50);
  if (faults) faults(s.options);
  BftOptions o;
  o.byzantine = std::move(byz);
  o.voting_power = std::move(power);
  BftConsensus* bft = nullptr;
  ChainSimulation sim(
      sim_options(duration, interval), std::move(s), poisson(20, seed),
      [&](ChainContext& ctx) {
        auto e = make_bft(o, ctx);
        bft = e.get();
        return std::unique_ptr<Consensus>(std::move(e));
      },
      seed);
  core::MemorySink sink;
  sim.run(sink);
  BftRun r;
  r.violations = bft->safety_violations();
  r.min_honest_height = 1 << 30;
  std::vector<std::uint32_t> ref;
  for (net::NodeId v = 0; v < n; ++v) {
    if (bft->is_byzantine(v)) continue;
    const auto& d = bft->decisions(v);
    r.min_honest_height = std::min<std::int64_t>(r.min_honest_height, d.size() - 1);
    for (std::size_t h = 0; h < d.size(); ++h) {
      if (ref.size() <= h)
        ref.push_back(d[h]);
      else if (ref[h] != d[h])
        r.honest_agree = false;
    }
  }
  for (double x : sink.column("head_height")) r.head_height.push_back(static_cast<std::int64_t>(x));
  return r;
}

}  // namespace

TEST_CASE("BFT safety over many seeds with f < n/3 equivocators and random delays") {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    const std::uint32_t n = seed % 2 ? 7 : 10;  // f = 2 and f = 3
    std::vector<net::NodeId> byz = {1, 4};
    if (n == 10) byz.push_back(7);
    BftRun r = run_bft(n, byz, seed, SimTime::s(120), SimTime::s(60));
    CHECK(r.violations == 0);
    CHECK(r.honest_agree);
    CHECK(r.min_honest_height >= 10);  // and it makes progress
  }
}

TEST_CASE("BFT safety with unequal voting power (Byzantine power 2 of 9 < 1/3)") {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    CAPTURE(seed);
    BftRun r = run_bft(7, {1, 2}, seed, SimTime::s(120), SimTime::s(60), {}, {3, 1, 1, 1, 1, 1, 1});
    CHECK(r.violations == 0);
    CHECK(r.honest_agree);
    CHECK(r.min_honest_height >= 10);
  }
}

TEST_CASE("BFT: the equivocation attack does break safety at f >= n/3 (the test can fail)") {
  int broken = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    // Honest 0 (even) and 1 (odd) get different blocks from Byzantine proposers 2 and 3.
    BftRun r = run_bft(4, {2, 3}, seed, SimTime::s(60), SimTime::s(60));
    if (r.violations > 0 || !r.honest_agree) ++broken;
  }
  CHECK(broken > 0);
}

TEST_CASE("BFT: no commit with more than 1/3 crashed; progress resumes after a partition") {
  BftRun crashed = run_bft(16, {}, 3, SimTime::s(60), SimTime::s(30), [](net::NetworkOptions& o) {
    for (net::NodeId v = 10; v < 16; ++v) o.crashes.push_back({v, SimTime{}, SimTime::max()});
  });
  CHECK(crashed.head_height.back() == 0);

  BftRun crashed5 = run_bft(16, {}, 3, SimTime::s(60), SimTime::s(30), [](net::NetworkOptions& o) {
    for (net::NodeId v = 11; v < 16; ++v) o.crashes.push_back({v, SimTime{}, SimTime::max()});
  });
  CHECK(crashed5.head_height.back() > 5);  // 5 of 16 < 1/3: still live

  BftRun part = run_bft(16, {}, 4, SimTime::s(150), SimTime::s(10), [](net::NetworkOptions& o) {
    o.partitions.push_back({SimTime::s(20), SimTime::s(80), {}});
    for (net::NodeId v = 0; v < 8; ++v) o.partitions.back().side.push_back(v);
  });
  // Rows: interval k covers ((k-1)*10, k*10] s. Stalled from ~20 s to 80 s, live after.
  const auto& h = part.head_height;
  REQUIRE(h.size() == 15);
  CHECK(h[1] > 3);           // progress before the partition
  CHECK(h[7] - h[2] <= 1);   // nothing (bar one in-flight commit) from 30 s to 80 s
  CHECK(h[14] - h[7] >= 5);  // live again after healing
  CHECK(part.violations == 0);
  CHECK(part.honest_agree);
}

TEST_CASE("audit detects every single-byte tamper in the recorded ledger") {
  PoaOptions o;
  o.interval = SimTime::s(2);
  ChainSimulation sim(
      sim_options(SimTime::s(60), SimTime::s(20)), spec(4, net::complete_graph(4), 20.0, 1e8),
      poisson(3, 9), [&](ChainContext& ctx) { return make_poa(o, ctx); }, 9);
  core::MemorySink sink;
  sim.run(sink);
  const LedgerColumns clean = ledger_columns(sink);
  std::ostringstream ok;
  REQUIRE(audit_ledger(clean, ok) == 0);
  REQUIRE(clean.tx_block.size() > 50);

  core::Rng rng(1, "tamper");
  auto flip_int = [&](std::vector<std::int64_t>& v) {
    auto& x = v[rng.below(v.size())];
    x ^= static_cast<std::int64_t>(1 + rng.below(255)) << (8 * rng.below(8));
  };
  auto flip_hash = [&](std::vector<Hash>& v) {
    v[rng.below(v.size())][rng.below(32)] ^= static_cast<std::uint8_t>(1 + rng.below(255));
  };
  using IntCol = std::vector<std::int64_t> LedgerColumns::*;
  using HashCol = std::vector<Hash> LedgerColumns::*;
  const std::vector<IntCol> ints = {
      &LedgerColumns::height, &LedgerColumns::proposer, &LedgerColumns::timestamp_ns,
      &LedgerColumns::n_tx,   &LedgerColumns::tx_block, &LedgerColumns::tx_index,
      &LedgerColumns::nonce,  &LedgerColumns::sender,   &LedgerColumns::kind,
      &LedgerColumns::fee,    &LedgerColumns::gas,      &LedgerColumns::size};
  const std::vector<HashCol> hashes = {&LedgerColumns::hash,         &LedgerColumns::parent,
                                       &LedgerColumns::tx_root,      &LedgerColumns::state_digest,
                                       &LedgerColumns::payload_hash, &LedgerColumns::tx_hash};
  int trials = 0;
  for (int rep = 0; rep < 20; ++rep) {
    for (auto col : ints) {
      LedgerColumns c = clean;
      flip_int(c.*col);
      std::ostringstream out;
      CHECK(audit_ledger(c, out) == 1);
      ++trials;
    }
    for (auto col : hashes) {
      LedgerColumns c = clean;
      flip_hash(c.*col);
      std::ostringstream out;
      CHECK(audit_ledger(c, out) == 1);
      ++trials;
    }
  }
  CHECK(trials == 360);
  LedgerColumns c = clean;
  c.payload_hash[5][0] ^= 1;
  std::ostringstream out;
  CHECK(audit_ledger(c, out) == 1);
  CHECK(out.str().find("transaction row 5") != std::string::npos);
}

TEST_CASE("chain runs are deterministic") {
  auto once = [] {
    PowOptions o;
    o.block_interval = SimTime::s(20);
    auto s = spec(40, net::random_regular(40, 4, 2), 100.0, 1e7);
    s.options.latency.kind = net::LatencyKind::kPareto;
    ChainSimulation sim(
        sim_options(SimTime::s(2000), SimTime::s(500)), std::move(s), poisson(4, 3),
        [&](ChainContext& ctx) { return make_pow(o, ctx); }, 11);
    core::MemorySink sink;
    sim.run(sink);
    return std::make_pair(ledger_columns(sink).hash, sink.column("network_bytes"));
  };
  auto a = once();
  auto b = once();
  CHECK(a.first == b.first);
  CHECK(a.second == b.second);
  CHECK(a.first.size() > 50);
}

TEST_CASE("chain results do not depend on the number of TBB threads") {
  // 1 and 2 threads: this machine has 2 cores, and TBB warns when an arena asks for more.
  // The event loop is single-threaded; this guards the property if parallel work (e.g. the
  // learning contract's aggregation) is ever run from inside chain events.
  auto run_in = [](int threads) {
    tbb::task_arena arena(threads);
    std::vector<Hash> hashes;
    std::vector<double> bytes;
    arena.execute([&] {
      BftOptions o;
      auto s = spec(10, net::complete_graph(10), 40.0, 1e8);
      s.options.latency.kind = net::LatencyKind::kLognormal;
      ChainSimulation sim(
          sim_options(SimTime::s(60), SimTime::s(20)), std::move(s), poisson(30, 5),
          [&](ChainContext& ctx) { return make_bft(o, ctx); }, 21);
      core::MemorySink sink;
      sim.run(sink);
      hashes = ledger_columns(sink).hash;
      bytes = sink.column("network_bytes");
    });
    return std::make_pair(hashes, bytes);
  };
  const auto one = run_in(1);
  CHECK(one.first.size() > 20);
  CHECK(run_in(2) == one);
}

TEST_CASE("ChainSimulation::build reads every key it uses; bad keys are positioned errors") {
  net::NetRegistries nr;
  net::register_builtin_net(nr);
  ChainRegistries cr;
  register_builtin_chain(cr);
  auto doc = scenario::Document::parse(R"(
[simulation]
duration = "60s"
metrics_interval = "20s"
[network]
validators = 7
[network.topology]
type = "complete"
[chain]
gas_limit = 1000000
[chain.consensus]
type = "bft"
timeout_propose = "2s"
[workload]
type = "poisson"
rate = 5.0
)",
                                       "t.toml");
  auto sim = ChainSimulation::build(doc->root(), 1, nr, cr);
  doc->check_unused();
  core::MemorySink sink;
  sim->run(sink);
  CHECK(sink.rounds.size() == 3);
  CHECK(sim->summary().main_blocks > 10);
  CHECK(sim->summary().consensus == "bft");
  CHECK(!std::isnan(sink.column("finality_latency_s")[0]));

  auto bad = scenario::Document::parse(
      "[chain.consensus]\ntype = \"bft\"\ntimeout_propse = \"1s\"\n", "b.toml");
  auto sim2 = ChainSimulation::build(bad->root(), 1, nr, cr);
  CHECK_THROWS_AS(bad->check_unused(), scenario::InputError);

  auto bad2 = scenario::Document::parse("[chain.consensus]\ntype = \"pbft\"\n", "c.toml");
  CHECK_THROWS_AS(ChainSimulation::build(bad2->root(), 1, nr, cr), scenario::InputError);

  scenario::Catalog cat;
  net::add_to_catalog(nr, cat);
  add_to_catalog(cr, cat);
  REQUIRE(cat.find("consensus"));
  CHECK(cat.find("consensus")->docs().size() == 4);
}

TEST_CASE("the chain scenarios build and leave no unused keys") {
  net::NetRegistries nr;
  net::register_builtin_net(nr);
  ChainRegistries cr;
  register_builtin_chain(cr);
  for (const char* name : {"bitcoin_like", "ethereum_pos", "bft_consortium", "poa_consortium"}) {
    const std::string file =
        std::string(LEDGERFL_SOURCE_DIR) + "/scenarios/chain/" + name + ".toml";
    CAPTURE(file);
    auto doc = scenario::Document::load(file);
    // [simulation] name and seed belong to the lead's driver.
    doc->root().table("simulation").mark_used("name");
    doc->root().table("simulation").mark_used("seed");
    auto sim = ChainSimulation::build(doc->root(), 1, nr, cr);
    doc->check_unused();
    CHECK(sim->network().size() > 0);
  }
}

namespace {

struct EvidenceRun {
  std::vector<DuplicateVoteEvidence> evidence;
  std::vector<std::vector<std::uint32_t>> decisions;  // per validator
};

// A BFT run whose equivocators are set by BftOptions::byzantine (`via_options`) or by
// add_byzantine after construction (how the learning contract sets them).
EvidenceRun run_bft_evidence(std::uint32_t n, const std::vector<net::NodeId>& byz,
                             std::uint64_t seed, bool via_options, bool relay = false,
                             std::uint64_t* violations = nullptr) {
  auto s = spec(n, net::complete_graph(n), 60.0, 1e8);
  s.options.latency.kind = net::LatencyKind::kLognormal;
  s.options.latency.sigma = 1.0;
  s.options.latency.jitter = SimTime::ms(50);
  BftOptions o;
  if (via_options) o.byzantine = byz;
  o.relay_votes = relay;
  BftConsensus* bft = nullptr;
  EvidenceRun r;
  ChainSimulation sim(
      sim_options(SimTime::s(120), SimTime::s(60)), std::move(s), poisson(20, seed),
      [&](ChainContext& ctx) {
        auto e = make_bft(o, ctx);
        bft = e.get();
        if (!via_options)
          for (net::NodeId b : byz) bft->add_byzantine(b);
        bft->on_evidence([&r](const DuplicateVoteEvidence& x) { r.evidence.push_back(x); });
        return std::unique_ptr<Consensus>(std::move(e));
      },
      seed);
  core::MemorySink sink;
  sim.run(sink);
  for (net::NodeId v = 0; v < n; ++v) r.decisions.push_back(bft->decisions(v));
  if (violations) *violations = bft->safety_violations();
  return r;
}

}  // namespace

TEST_CASE("BFT duplicate-vote evidence: held by honest validators, only against equivocators") {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    const std::vector<net::NodeId> byz = {1, 4};
    EvidenceRun r = run_bft_evidence(7, byz, seed, true);
    std::set<net::NodeId> offenders;
    std::set<std::tuple<net::NodeId, net::NodeId, std::int64_t, std::int64_t, std::uint16_t>> seen;
    for (const DuplicateVoteEvidence& e : r.evidence) {
      CHECK((e.offender == 1 || e.offender == 4));  // never an honest validator
      CHECK((e.holder != 1 && e.holder != 4));      // held by an honest one
      CHECK(e.first != e.second);                   // two different signed values
      CHECK((e.kind == kMsgPrevote || e.kind == kMsgPrecommit));
      CHECK(e.height >= 1);
      CHECK(seen.insert({e.holder, e.offender, e.height, e.round, e.kind}).second);  // once
      offenders.insert(e.offender);
    }
    // Every equivocator double-signs at the heights a Byzantine validator proposes, and the
    // commit certificates expose it: each one is caught in a 120 s run.
    CHECK(offenders == std::set<net::NodeId>{1, 4});
    // Setting them after construction is the same run.
    EvidenceRun a = run_bft_evidence(7, byz, seed, false);
    CHECK(a.decisions == r.decisions);
    CHECK(a.evidence.size() == r.evidence.size());
  }
  // Without equivocators: no evidence at all.
  EvidenceRun h = run_bft_evidence(7, {}, 3, true);
  CHECK(h.evidence.empty());
  CHECK(h.decisions[0].size() > 10);
}

TEST_CASE("proposer filter: a censoring proposer leaves transactions in the mempool") {
  Ledger l;
  for (int i = 0; i < 6; ++i) {
    Transaction t;
    t.nonce = static_cast<std::uint64_t>(i);
    t.sender = static_cast<std::uint32_t>(i);
    t.fee = 1;
    t.gas = 100;
    t.size = 100;
    l.submit(t);
  }
  // Proposer 1 censors senders 0 and 3; proposer 0 censors nobody.
  l.set_proposer_filter([](std::uint32_t proposer, const Transaction& t) {
    return proposer == 1 && (t.sender == 0 || t.sender == 3);
  });
  const std::uint32_t b1 = l.build_block(0, 1, SimTime::s(1));
  CHECK(l.tree.at(b1).txs == std::vector<std::uint32_t>{1, 2, 4, 5});
  CHECK(l.pool.size() == 2);
  CHECK(l.pool.contains(0));
  CHECK(l.pool.contains(3));
  // Another censoring block takes nothing; the honest proposer includes them.
  CHECK(l.tree.at(l.build_block(b1, 1, SimTime::s(2))).txs.empty());
  const std::uint32_t b3 = l.build_block(b1, 0, SimTime::s(3));
  CHECK(l.tree.at(b3).txs == std::vector<std::uint32_t>{0, 3});
  CHECK(l.pool.size() == 0);
  // Left-out transactions are not misfits: 100 censored ones ahead do not stop the scan.
  for (int i = 0; i < 101; ++i) {
    Transaction t;
    t.nonce = static_cast<std::uint64_t>(100 + i);
    t.sender = i < 100 ? 0u : 7u;
    t.fee = 1;
    t.gas = 100;
    t.size = 100;
    l.submit(t);
  }
  const std::uint32_t b4 = l.build_block(b3, 1, SimTime::s(4));
  REQUIRE(l.tree.at(b4).txs.size() == 1);
  CHECK(l.txs[l.tree.at(b4).txs[0]].sender == 7u);
}

TEST_CASE("BFT vote relay: an equivocator's split votes meet at honest validators") {
  // 16 validators, one equivocator: its proposals split the honest validators 8 / 7, no block
  // reaches a quorum, so no certificate exposes it; only relayed votes do.
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    std::uint64_t violations = 1;
    EvidenceRun quiet = run_bft_evidence(16, {7}, seed, true, false);
    EvidenceRun relay = run_bft_evidence(16, {7}, seed, true, true, &violations);
    CHECK(quiet.evidence.empty());
    REQUIRE(!relay.evidence.empty());
    for (const DuplicateVoteEvidence& e : relay.evidence) {
      CHECK(e.offender == 7);
      CHECK(e.holder != 7);
    }
    CHECK(violations == 0);
    CHECK(relay.decisions[0].size() > 10);
  }
  // Relay on, nobody equivocating: no evidence.
  CHECK(run_bft_evidence(7, {}, 5, true, true).evidence.empty());
}
