// execute_on = "head" (optimistic execution with reverts; FLchain, Wilhelmi et al. 2022): the
// contract's state is a value (a copy restores it exactly), stale submissions and votes are
// refused, and end to end on a forking PoW chain a reorg reverts round transitions, the wasted
// updates are exactly those trained for the round openings the reorgs orphaned (checked against
// the recorded ledger), supply is conserved along the main chain, and the run is the same for
// 1 and 2 threads; under "final" the same world reverts nothing.
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include <tbb/global_control.h>

#include "sim/contract/audit.hpp"
#include "sim/contract/contract.hpp"
#include "sim/core/record.hpp"
#include "sim/economy/registries.hpp"
#include "sim/scenario/params.hpp"
#include "sim/world/world.hpp"
#include "tests/contract/sink_compare.hpp"

using namespace ledgerfl;
using namespace ledgerfl::contract;
using core::SimTime;

namespace {

Hash hb(std::uint8_t b) {
  Hash x{};
  x.fill(b);
  return x;
}

std::unique_ptr<LearningContract> make_contract(bool head, std::vector<RoundOpened>* opened,
                                                std::vector<std::pair<Account, Reject>>* rej) {
  economy::EconomyRegistries regs;
  economy::register_builtin_economy(regs);
  auto doc = scenario::Document::parse("", "t.toml");
  const scenario::ParamView root = doc->root();
  ContractParams p;
  p.clients = 6;
  p.validators = 3;
  p.per_round = 2;
  p.rounds = 5;
  p.head = head;
  auto c = std::make_unique<LearningContract>(
      p, regs.selection.get(root.table("s"), "type", "uniform").factory(root),
      regs.reputation.get(root.table("r"), "type", "beta").factory(root), 11);
  LearningContract::Observer o;
  o.opened = [opened](const RoundOpened& e) { opened->push_back(e); };
  o.rejected = [rej](Account a, std::int64_t, Reject r) { rej->emplace_back(a, r); };
  c->set_observer(o);
  std::vector<Amount> bal(6, 500);
  c->genesis(bal, 1000, 0);
  c->tokens().seal_genesis();
  std::vector<Call> calls(6);
  std::vector<const Call*> ptrs;
  for (std::size_t a = 0; a < 6; ++a) {
    calls[a].op = Op::kRegister;
    calls[a].sender = static_cast<Account>(a);
    calls[a].amount = 200;
    ++c->pending_registrations;
    ptrs.push_back(&calls[a]);
  }
  c->execute_block(hb(1), SimTime::s(1), ptrs);
  return c;
}

// One round to its finalization: the K participants submit, every validator votes the report.
void play_round(LearningContract& c, const RoundOpened& open, std::uint8_t& block, SimTime& t) {
  std::vector<Call> subs;
  for (std::size_t i = 0; i < 2 && i < open.participants.size(); ++i) {
    Call s;
    s.op = Op::kSubmit;
    s.sender = open.participants[i];
    s.round = open.round;
    s.commitment = hb(0x40);
    s.samples = 10;
    s.ref = open.randomness;
    subs.push_back(s);
  }
  std::vector<const Call*> ptrs;
  for (const Call& x : subs) ptrs.push_back(&x);
  const Hash close_block = hb(block);
  t = t + SimTime::s(1);
  c.execute_block(hb(block++), t, ptrs);  // the K-th submission closes the round
  RoundReport rep;
  for (const Call& x : subs) rep.included.push_back(x.sender);
  std::sort(rep.included.begin(), rep.included.end());
  rep.scores.assign(rep.included.size(), 1.0);
  rep.available.assign(rep.included.size(), 1);
  const Hash result = rep.hash();
  c.set_report(open.round, rep);
  std::vector<Call> votes(3);
  ptrs.clear();
  for (std::size_t v = 0; v < 3; ++v) {
    votes[v].op = Op::kVote;
    votes[v].sender = c.validator_account(v);
    votes[v].round = open.round;
    votes[v].commitment = result;
    votes[v].ref = close_block;
    ptrs.push_back(&votes[v]);
  }
  t = t + SimTime::s(1);
  c.execute_block(hb(block++), t, ptrs);
}

std::size_t col(const core::MemorySink::Table& t, const std::string& name) {
  for (std::size_t i = 0; i < t.columns.size(); ++i)
    if (t.columns[i].name == name) return i;
  FAIL("no column " << name);
  return 0;
}

bool has_metric(const core::MemorySink& s, const std::string& name) {
  for (const auto& r : s.rounds)
    for (const auto& [k, v] : r.metrics)
      if (k == name) return true;
  return false;
}

using testing::table;
bool same_results(const core::MemorySink& a, const core::MemorySink& b) {
  return testing::same_results(a, b,
                               {"/clients", "/ledger/blocks", "/ledger/txs", "/contract_summary",
                                "/contract/openings", "/contract/commitments"});
}

// A PoW chain that forks often: 4 miners, 2 s mean block interval, 3 s between validators
// (tau / T = 1.5, so most blocks race another), 12 confirmations for finality.
const char* kForky = R"(
[simulation]
rounds = 6
duration = "4h"
[clients]
count = 30
[data]
type = "synthetic"
alpha = 1.0
beta = 1.0
[model]
type = "softmax"
[training]
lr = 0.05
batch = 10
epochs = 1
[rounds]
per_round = 5
over_selection = 0.2
deadline = "120s"
[devices]
flops = {type = "lognormal", median = 1e8, sigma = 0.5}
[coordinator]
type = "contract"
[contract]
execute_on = "head"
min_stake = 100
stake = 150
validator_stake = 1000
[contract.rewards]
per_round = 700
[network]
validators = 4
[network.topology]
type = "complete"
[network.regions]
type = "single"
latency = "3s"
[network.bandwidth]
type = "classes"
names = ["dc"]
share = [1.0]
upload = [100e6]
download = [100e6]
[chain.consensus]
type = "pow"
block_interval = "2s"
confirmations = 12
[workload]
type = "none"
)";

std::unique_ptr<core::MemorySink> run(std::vector<std::string> sets = {}, int threads = 0) {
  static world::Registries regs;
  auto doc = scenario::Document::parse(kForky, "forky.toml");
  for (const auto& s : sets) doc->apply_override(s);
  std::optional<tbb::global_control> gc;
  if (threads > 0) gc.emplace(tbb::global_control::max_allowed_parallelism, threads);
  world::Simulation sim = world::build(regs, doc->root(), 5);
  doc->check_unused();
  auto sink = std::make_unique<core::MemorySink>();
  sim.run(*sink);
  return sink;
}

}  // namespace

TEST_CASE("head: a copy of the contract restores its state exactly; replay gives the same") {
  std::vector<RoundOpened> opened;
  std::vector<std::pair<Account, Reject>> rej;
  auto c = make_contract(true, &opened, &rej);
  REQUIRE(opened.size() == 1);
  const LearningContract before = *c;       // the state after the registrations (round 1 open)
  const RoundOpened first = opened.back();  // (the observer appends to `opened`)
  std::uint8_t block = 2;
  SimTime t = SimTime::s(1);
  play_round(*c, first, block, t);
  REQUIRE(c->finalized_rounds() == 1);
  REQUIRE(opened.size() == 2);
  const Hash digest_after = c->state_digest();
  const Amount supply_after = c->tokens().total_supply();
  CHECK(supply_after > before.tokens().total_supply());  // the round's emission was minted
  // Revert: the state of the copy, whatever ran since.
  *c = before;
  CHECK(c->round() == 1);
  CHECK(c->finalized_rounds() == 0);
  CHECK(c->state_digest() == before.state_digest());
  CHECK(c->tokens().total_supply() == before.tokens().total_supply());
  for (Account a = 0; a < 6; ++a) CHECK(c->reputation().value(a) == before.reputation().value(a));
  // Replaying the same blocks gives the same state.
  block = 2;
  t = SimTime::s(1);
  play_round(*c, first, block, t);
  CHECK(c->state_digest() == digest_after);
  CHECK(c->tokens().total_supply() == supply_after);
  CHECK(rej.empty());
}

TEST_CASE(
    "head: a submission for an orphaned opening is stale; a vote on another closing ignored") {
  std::vector<RoundOpened> opened;
  std::vector<std::pair<Account, Reject>> rej;
  auto c = make_contract(true, &opened, &rej);
  const RoundOpened open = opened.back();
  Call s;
  s.op = Op::kSubmit;
  s.sender = open.participants[0];
  s.round = open.round;
  s.commitment = hb(0x40);
  s.samples = 10;
  s.ref = hb(0x77);  // another block opened "round 1" on a branch that was orphaned
  const Call* p = &s;
  c->execute_block(hb(2), SimTime::s(2), std::span<const Call* const>(&p, 1));
  REQUIRE(rej.size() == 1);
  CHECK(rej[0].second == Reject::kStale);
  CHECK(reject_name(Reject::kStale) == "stale");
  // Under "final" the reference is not checked (and a zero one not even hashed).
  std::vector<RoundOpened> opened2;
  std::vector<std::pair<Account, Reject>> rej2;
  auto f = make_contract(false, &opened2, &rej2);
  s.sender = opened2.back().participants[0];
  f->execute_block(hb(2), SimTime::s(2), std::span<const Call* const>(&p, 1));
  CHECK(rej2.empty());
  Call z = s;
  z.ref = Hash{};
  CHECK(call_hash(z) != call_hash(s));
}

TEST_CASE("head on a forking PoW chain: reverted rounds, wasted updates, supply, determinism") {
  auto h = run({}, 1);
  const std::int64_t rounds = 6;
  // Reverts happened and undid round transitions.
  const auto* sum = table(*h, "/contract_summary");
  REQUIRE(sum != nullptr);
  REQUIRE(sum->rows.size() == 1);
  const auto sv = [&](const char* c) { return std::get<std::int64_t>(sum->rows[0][col(*sum, c)]); };
  CHECK(sv("rounds_finalized") == rounds);
  CHECK(sv("reverts") > 0);
  const std::int64_t reverted = sv("reverted_rounds");
  CHECK(reverted > 0);
  double reverted_rows = 0, wasted_rows = 0;
  for (double x : h->column("reverted_rounds")) reverted_rows += x;
  for (double x : h->column("wasted_updates")) wasted_rows += x;
  CHECK(reverted_rows <= static_cast<double>(reverted));  // reverts after the last row: summary
  // The wasted updates are those trained for the openings the reorgs orphaned. From the ledger:
  // an opening survives iff it is the last one executed of a block on the final main chain.
  const auto* blocks = table(*h, "/ledger/blocks");
  const auto* open = table(*h, "/contract/openings");
  REQUIRE(blocks != nullptr);
  REQUIRE(open != nullptr);
  std::map<Hash, bool> on_main;
  for (const auto& r : blocks->rows)
    on_main[std::get<Hash>(r[col(*blocks, "hash")])] =
        std::get<std::int64_t>(r[col(*blocks, "on_main_chain")]) == 1;
  std::map<Hash, std::size_t> last_of;
  for (std::size_t i = 0; i < open->rows.size(); ++i)
    last_of[std::get<Hash>(open->rows[i][col(*open, "block_hash")])] = i;
  std::int64_t wasted = 0, live = 0;
  std::vector<std::int64_t> live_rounds;
  for (std::size_t i = 0; i < open->rows.size(); ++i) {
    const Hash b = std::get<Hash>(open->rows[i][col(*open, "block_hash")]);
    REQUIRE(on_main.count(b));
    if (on_main[b] && last_of[b] == i) {
      ++live;
      live_rounds.push_back(std::get<std::int64_t>(open->rows[i][col(*open, "round")]));
    } else {
      wasted += std::get<std::int64_t>(open->rows[i][col(*open, "trained")]);
    }
  }
  CHECK(live == rounds);  // one surviving opening per round, in order
  for (std::int64_t r = 0; r < static_cast<std::int64_t>(live_rounds.size()); ++r)
    CHECK(live_rounds[static_cast<std::size_t>(r)] == r + 1);
  CHECK(static_cast<std::int64_t>(open->rows.size()) > rounds);  // some openings were orphaned
  CHECK(wasted > 0);
  CHECK(sv("wasted_updates") == wasted);
  CHECK(wasted_rows <= static_cast<double>(wasted));
  // Supply along the main chain: the last row of each round is its surviving finalization, and
  // its token_supply is genesis + what the surviving rounds minted - burned.
  const auto round_col = h->column("round");
  const auto supply = h->column("token_supply");
  const auto minted = h->column("minted");
  const auto burned = h->column("burned");
  std::map<std::int64_t, std::size_t> last_row;
  for (std::size_t i = 0; i < round_col.size(); ++i)
    last_row[static_cast<std::int64_t>(round_col[i])] = i;
  REQUIRE(static_cast<std::int64_t>(last_row.size()) == rounds);
  double expect = 30 * 150 + 4 * 1000;
  for (const auto& [r, i] : last_row) {
    expect += minted[i] - burned[i];
    CHECK(supply[i] == expect);
  }
  CHECK(static_cast<double>(sv("token_supply")) == expect);
  // Every block is counted in one row (the last row waits until its finalization is final).
  double produced = 0;
  for (double x : h->column("blocks_produced")) produced += x;
  CHECK(produced == static_cast<double>(blocks->rows.size() - 1));
  // The recorded ledger and commitments audit (commitments are written once their closing
  // block is final, so each is bound to a main-chain submission naming its opening).
  contract::RecordedTables t;
  for (const auto& [name, tab] : h->tables) t[name] = chain::RecordedTable{tab->columns, tab->rows};
  std::ostringstream out;
  CHECK(contract::audit_contract(t, out) == 0);
  // Determinism across thread counts.
  auto h2 = run({}, 2);
  CHECK(same_results(*h, *h2));
  // The same world under "final" waits for 12 confirmations: nothing is reverted.
  auto f = run({"contract.execute_on=\"final\""}, 2);
  CHECK_FALSE(has_metric(*f, "reverted_rounds"));
  CHECK(table(*f, "/contract/openings") == nullptr);
  const auto fr = f->column("round");
  REQUIRE(static_cast<std::int64_t>(fr.size()) == rounds);
  for (std::size_t i = 0; i < fr.size(); ++i) CHECK(fr[i] == static_cast<double>(i + 1));
  CHECK_FALSE(same_results(*h, *f));  // the comparison can fail
}

TEST_CASE("head: what a revert cannot restore is refused with the key named") {
  static world::Registries regs;
  auto build = [&](const std::string& set) {
    auto doc = scenario::Document::parse(kForky, "forky.toml");
    doc->apply_override(set);
    world::build(regs, doc->root(), 5);
  };
  CHECK_THROWS_WITH_AS(build("server.type=\"fedadam\""), doctest::Contains("execute_on"),
                       scenario::InputError);
  CHECK_THROWS_WITH_AS(build("contract.record_updates=true"), doctest::Contains("record_updates"),
                       scenario::InputError);
}
