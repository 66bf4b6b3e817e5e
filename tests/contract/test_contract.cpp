// The learning contract's state machine, driven directly with blocks of calls (no network):
// round opening, submission rules and their rejection reasons, the committee quorum and its
// edges, rewards, slashing of dissent and of unavailable updates, governance, supply.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "sim/contract/contract.hpp"
#include "sim/contract/gas.hpp"
#include "sim/economy/registries.hpp"
#include "sim/scenario/params.hpp"

using namespace ledgerfl;
using namespace ledgerfl::contract;
using core::SimTime;

namespace {

Hash h(std::uint8_t b) {
  Hash x{};
  x.fill(b);
  return x;
}

struct Harness {
  std::unique_ptr<LearningContract> c;
  std::vector<RoundOpened> opened;
  std::vector<RoundClosed> closed;
  std::vector<RoundFinalized> finalized;
  std::vector<std::pair<Account, Reject>> rejected;
  std::uint8_t block = 1;
  SimTime t;
  Amount genesis_supply = 0;

  explicit Harness(ContractParams p, Amount validator_stake = 1000) {
    economy::EconomyRegistries regs;
    economy::register_builtin_economy(regs);
    auto doc = scenario::Document::parse("", "t.toml");
    const scenario::ParamView root = doc->root();
    const std::size_t clients = p.clients;
    c = std::make_unique<LearningContract>(
        std::move(p), regs.selection.get(root.table("s"), "type", "uniform").factory(root),
        regs.reputation.get(root.table("r"), "type", "beta").factory(root), 7);
    LearningContract::Observer o;
    o.opened = [this](const RoundOpened& e) { opened.push_back(e); };
    o.closed = [this](const RoundClosed& e) { closed.push_back(e); };
    o.finalized = [this](const RoundFinalized& e) { finalized.push_back(e); };
    o.rejected = [this](Account a, std::int64_t, Reject r) { rejected.emplace_back(a, r); };
    c->set_observer(o);
    std::vector<Amount> bal(clients, 500);
    c->genesis(bal, validator_stake, 100'000);
    c->tokens().seal_genesis();
    genesis_supply = c->tokens().total_supply();
    // Every client registers with 200 bonded.
    std::vector<Call> regs_calls;
    for (std::size_t a = 0; a < clients; ++a) {
      Call r;
      r.op = Op::kRegister;
      r.sender = static_cast<Account>(a);
      r.amount = 200;
      regs_calls.push_back(r);
      ++c->pending_registrations;
    }
    run(regs_calls);
  }
  // Executes one block of calls, `dt` after the previous one.
  void run(const std::vector<Call>& calls, SimTime dt = SimTime::s(1)) {
    t = t + dt;
    std::vector<const Call*> ptrs;
    for (const Call& x : calls) ptrs.push_back(&x);
    c->execute_block(h(block++), t, ptrs);
    // The supply invariant holds after every block: only mints and burns change it.
    CHECK(c->tokens().total_supply() ==
          genesis_supply + (c->tokens().minted() - c->tokens().genesis()) - c->tokens().burned());
  }
  Call submit(Account a, std::int64_t round, std::uint8_t commit = 9) const {
    Call s;
    s.op = Op::kSubmit;
    s.sender = a;
    s.round = round;
    s.commitment = h(commit);
    s.samples = 10;
    return s;
  }
  Call vote(std::size_t validator, const Hash& x) const {
    Call v;
    v.op = Op::kVote;
    v.sender = c->validator_account(validator);
    v.round = c->round();
    v.commitment = x;
    return v;
  }
};

ContractParams params(std::size_t clients = 10, std::size_t validators = 4) {
  ContractParams p;
  p.clients = clients;
  p.validators = validators;
  p.rounds = 3;
  p.per_round = 3;
  p.deadline = SimTime::s(60);
  p.vote_timeout = SimTime::s(60);
  p.min_stake = 100;
  p.reward_per_round = 1000;
  p.validator_share = 0.1;
  return p;
}

// Submits every participant's update and closes the round; returns the honest report's hash.
Hash submit_all_and_close(Harness& H, std::vector<std::uint8_t> available = {}) {
  const RoundOpened& o = H.opened.back();
  std::vector<Call> subs;
  for (Account a : o.participants) subs.push_back(H.submit(a, o.round));
  H.run(subs);
  REQUIRE(H.closed.size() == static_cast<std::size_t>(o.round));
  RoundReport rep;
  rep.model = h(42);
  rep.included = H.closed.back().included;
  rep.scores.assign(rep.included.size(), 1.0);
  rep.available = available.empty() ? std::vector<std::uint8_t>(rep.included.size(), 1) : available;
  const Hash honest = rep.hash();
  H.c->set_report(o.round, rep);
  return honest;
}

}  // namespace

TEST_CASE("gas: every operation's cost is the closed form of its fields") {
  const GasSchedule g;
  // A known update: 1000 bytes, of which 100 are zero.
  std::vector<std::uint8_t> update(1000, 0xab);
  std::fill(update.begin(), update.begin() + 100, 0);
  // submit_update on-chain: tx base + 48 bytes of fixed fields (non-zero) + the update's call
  // data (16 per non-zero byte, 4 per zero byte; EIP-2028) + 2 fresh slots (20,000 + 2,100
  // cold) + one log with 3 topics and 8 bytes.
  const std::int64_t expect_on =
      21'000 + 48 * 16 + (900 * 16 + 100 * 4) + 2 * (20'000 + 2'100) + (375 + 3 * 375 + 8 * 8);
  CHECK(submit_cost(g, update, true).gas == expect_on);
  CHECK(submit_cost(g, update, true).bytes == kTxEnvelopeBytes + 48 + 1000);
  // Off-chain: a 32-byte content address instead of the bytes.
  const std::int64_t expect_off = 21'000 + 80 * 16 + 2 * 22'100 + (375 + 3 * 375 + 64);
  CHECK(submit_cost(g, update, false).gas == expect_off);
  CHECK(submit_cost(g, {}, false).gas == expect_off);
  // The bound charges every byte as non-zero.
  CHECK(submit_cost_bound(g, 1000, true).gas == expect_on + 100 * 12);
  CHECK(vote_cost(g).gas == 21'000 + 40 * 16 + 22'100 + (375 + 2 * 375 + 32 * 8));
  CHECK(register_cost(g).gas == 21'000 + 16 * 16 + 2 * 22'100 + (375 + 2 * 375 + 64));
  // A schedule read from a scenario: every key is applied.
  auto doc = scenario::Document::parse(
      "[gas]\ntx_base = 1\ncalldata_nonzero = 2\ncalldata_zero = 1\n"
      "sstore_set = 0\ncold_access = 0\nlog_base = 0\n"
      "log_topic = 0\nlog_byte = 0\n",
      "g.toml");
  const GasSchedule r = read_gas_schedule(doc->root().table("gas"));
  CHECK(submit_cost(r, update, true).gas == 1 + 48 * 2 + 900 * 2 + 100);
  doc->check_unused();
}

TEST_CASE("quorum: strictly more than 2/3 of the committee's stake") {
  CHECK_FALSE(LearningContract::reaches_quorum(2, 3, 2.0 / 3.0));  // exactly 2/3
  CHECK(LearningContract::reaches_quorum(3, 4, 2.0 / 3.0));
  CHECK_FALSE(LearningContract::reaches_quorum(2000, 3000, 2.0 / 3.0));
  CHECK(LearningContract::reaches_quorum(2001, 3000, 2.0 / 3.0));
  CHECK_FALSE(LearningContract::reaches_quorum(1, 2, 0.5));  // a tie is not a majority
  CHECK(LearningContract::reaches_quorum(6, 10, 0.5));
}

TEST_CASE("contract: a round opens after registration and selects bonded clients") {
  Harness H(params());
  REQUIRE(H.opened.size() == 1);
  const RoundOpened& o = H.opened[0];
  CHECK(o.round == 1);
  CHECK(o.participants.size() == 3);
  CHECK(std::is_sorted(o.participants.begin(), o.participants.end()));
  for (Account a : o.participants) CHECK(H.c->tokens().bonded(a) == 200);
  // Each client bonded 200 of its 500.
  CHECK(H.c->tokens().balance(0) == 300);
}

TEST_CASE("contract: submissions are rejected with their reason") {
  Harness H(params());
  const RoundOpened o = H.opened[0];
  Account outsider = 0;
  while (std::binary_search(o.participants.begin(), o.participants.end(), outsider)) ++outsider;
  const Account a = o.participants[0];
  Call bad = H.submit(o.participants[1], 1);
  bad.samples = 0;
  H.run({H.submit(a, 1), H.submit(a, 1), H.submit(outsider, 1), H.submit(a, 2), bad});
  std::map<Reject, int> why;
  for (const auto& [acc, r] : H.rejected) ++why[r];
  CHECK(why[Reject::kDuplicate] == 1);
  CHECK(why[Reject::kNotSelected] == 1);
  CHECK(why[Reject::kWrongRound] == 1);
  CHECK(why[Reject::kMalformed] == 1);
  CHECK(H.closed.empty());
  // After the deadline: late, and the round closes with the one accepted update.
  H.run({H.submit(o.participants[2], 1)}, SimTime::s(120));
  CHECK(H.rejected.back().second == Reject::kLate);
  REQUIRE(H.closed.size() == 1);
  CHECK(H.closed[0].included == std::vector<Account>{a});
}

TEST_CASE("contract: an honest quorum finalizes; a malicious minority is outvoted and slashed") {
  Harness H(params(10, 4));
  const Hash honest = submit_all_and_close(H);
  const Amount stake_before = H.c->tokens().bonded(H.c->validator_account(3));
  // Validator 3 votes a wrong hash first; 2 honest votes (2/4) are not a quorum yet.
  H.run({H.vote(3, h(66)), H.vote(0, honest), H.vote(1, honest)});
  CHECK(H.finalized.empty());
  H.run({H.vote(2, honest)});  // 3/4 > 2/3
  REQUIRE(H.finalized.size() == 1);
  const RoundFinalized& f = H.finalized[0];
  CHECK_FALSE(f.failed);
  CHECK(f.result == honest);
  CHECK(f.dissenters == std::vector<Account>{H.c->validator_account(3)});
  CHECK(H.c->tokens().bonded(H.c->validator_account(3)) ==
        stake_before - static_cast<Amount>(stake_before * 0.1));
  // The pool: 1000 minted, 10% to the 3 agreeing validators, 900 split over the 3 clients.
  const LearningContract::RoundBook book = H.c->take_book();
  CHECK(book.minted == 1000);
  CHECK(book.rewards_paid == 1000);
  Amount to_clients = 0;
  for (const auto& [acc, x] : book.rewards)
    if (acc < 10) to_clients += x;
  CHECK(to_clients == 900);
  // The next round opened in the same block.
  CHECK(H.opened.size() == 2);
}

TEST_CASE("contract: a malicious third cannot finalize its hash; without quorum the round fails") {
  Harness H(params(10, 3));
  const Hash honest = submit_all_and_close(H);
  // 1 of 3 malicious, 1 honest, 1 silent: neither hash has > 2/3.
  H.run({H.vote(2, h(66)), H.vote(0, honest)});
  CHECK(H.finalized.empty());
  H.run({}, SimTime::s(120));  // past the vote deadline
  REQUIRE(H.finalized.size() == 1);
  CHECK(H.finalized[0].failed);
  CHECK(H.c->failed_rounds() == 1);
  CHECK(H.c->take_book().minted == 0);  // a failed round mints nothing
}

TEST_CASE("contract: ties between two hashes finalize neither") {
  Harness H(params(10, 4));
  const Hash honest = submit_all_and_close(H);
  H.run({H.vote(0, honest), H.vote(1, honest), H.vote(2, h(66)), H.vote(3, h(66))});
  CHECK(H.finalized.empty());
}

TEST_CASE("contract: an unavailable update is excluded from rewards and its submitter slashed") {
  Harness H(params(10, 4));
  std::vector<std::uint8_t> avail = {1, 0, 1};
  const Hash honest = submit_all_and_close(H, avail);
  const Account gone = H.closed[0].included[1];
  const Amount before = H.c->tokens().bonded(gone);
  H.run({H.vote(0, honest), H.vote(1, honest), H.vote(2, honest), H.vote(3, honest)});
  REQUIRE(H.finalized.size() == 1);
  CHECK(H.c->tokens().bonded(gone) == before - static_cast<Amount>(before * 0.1));
  const LearningContract::RoundBook book = H.c->take_book();
  CHECK(book.unavailable == 1);
  for (const auto& [acc, x] : book.rewards) CHECK(acc != gone);
  Amount to_clients = 0;
  for (const auto& [acc, x] : book.rewards)
    if (acc < 10) to_clients += x;
  CHECK(to_clients == 900);  // the two available submitters share the clients' part
}

TEST_CASE("contract: governance enacts a passed proposal at the round boundary") {
  ContractParams p = params(10, 4);
  p.rounds = 5;
  Harness H(p);
  Call prop;
  prop.op = Op::kPropose;
  prop.sender = H.c->requester();
  prop.key = "min_stake";
  prop.value = "150";
  prop.voting_rounds = 1;
  std::vector<Call> calls = {prop};
  for (Account a = 0; a < 10; ++a) {
    Call v;
    v.op = Op::kGovVote;
    v.sender = a;
    v.proposal = 1;
    v.yes = true;
    calls.push_back(v);
  }
  H.run(calls);
  CHECK(H.c->params().min_stake == 100);
  const Hash honest = submit_all_and_close(H);
  H.run({H.vote(0, honest), H.vote(1, honest), H.vote(2, honest)});
  REQUIRE(H.finalized.size() == 1);
  CHECK(H.c->params().min_stake == 150);
  // Every client bonded 200 >= 150: still selectable.
  CHECK(H.opened.back().participants.size() == 3);
}

TEST_CASE("contract: the state digest depends on the executed history") {
  Harness A(params()), B(params());
  CHECK(A.c->state_digest() == B.c->state_digest());
  A.run({A.submit(A.opened[0].participants[0], 1)});
  B.run({});
  CHECK(A.c->state_digest() != B.c->state_digest());
}

TEST_CASE("contract: equivocation evidence slashes once per (validator, height)") {
  ContractParams p = params();
  p.slash_equivocation = 0.5;
  Harness H(p, 1000);
  const Account v3 = H.c->validator_account(3);
  auto ev = [&](std::size_t holder, Account offender, std::int64_t height) {
    Call e;
    e.op = Op::kEvidence;
    e.sender = H.c->validator_account(holder);
    e.offender = offender;
    e.height = height;
    return e;
  };
  const Amount burned0 = H.c->tokens().burned();
  // Two holders report height 7, one reports it twice, and height 9 once: two offences.
  H.run({ev(0, v3, 7), ev(1, v3, 7), ev(0, v3, 7), ev(2, v3, 9)});
  CHECK(H.c->tokens().bonded(v3) == 250);  // 1000 -> 500 -> 250
  CHECK(H.c->tokens().burned() - burned0 == 750);
  REQUIRE(H.c->equivocations().size() == 2);
  CHECK(H.c->equivocations().at({v3, 7}) == 500);
  CHECK(H.c->equivocations().at({v3, 9}) == 250);
  const auto book = H.c->take_book();
  CHECK(book.equivocation_slashed == 750);
  CHECK(book.evidence_accepted == 2);
  // Not evidence: from a client, against a client, against oneself, height 0.
  H.run({[&] {
           Call e = ev(0, v3, 11);
           e.sender = 0;
           return e;
         }(),
         ev(0, 1, 12), ev(3, v3, 13), ev(0, v3, 0)});
  CHECK(H.c->tokens().bonded(v3) == 250);
  CHECK(H.c->equivocations().size() == 2);
  // Gas: 224 bytes of fields, one slot, one log with 2 topics and 16 bytes.
  const GasSchedule g;
  CHECK(evidence_cost(g).gas == 21'000 + 224 * 16 + 22'100 + 375 + 2 * 375 + 16 * 8);
  CHECK(evidence_cost(g).bytes == kTxEnvelopeBytes + 224);
  // The evidence fields are in the call hash; other calls' hashes ignore them.
  Call a = ev(0, v3, 7), b = ev(0, v3, 8);
  CHECK(call_hash(a) != call_hash(b));
  Call s1 = H.submit(1, 1), s2 = H.submit(1, 1);
  s2.height = 99;
  CHECK(call_hash(s1) == call_hash(s2));
}
