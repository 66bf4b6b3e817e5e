// TokenLedger: each operation's closed form, preconditions, unbonding, slashing order, and the
// supply invariant under 10k random operations (and its detection of an injected corruption).
#include <doctest/doctest.h>

#include <string>

#include "sim/core/rng.hpp"
#include "sim/economy/ledger.hpp"

using namespace ledgerfl;
using economy::Amount;
using economy::EconomyError;
using economy::SlashTo;
using economy::TokenLedger;

namespace ledgerfl::economy {
// The test hook declared a friend in ledger.hpp: changes state behind the operations' back.
struct TokenLedgerTestAccess {
  static void add_to_balance(TokenLedger& l, Account a, Amount x) { l.balance_[a] += x; }
  static void add_to_queue_entry(TokenLedger& l, std::size_t k, Amount x) {
    l.queue_[k].amount += x;
  }
};
}  // namespace ledgerfl::economy

TEST_CASE("mint, transfer, burn and bond move exactly the amounts asked") {
  TokenLedger l(2);
  CHECK(l.size() == 2);
  CHECK(l.add_account() == 2);
  l.mint(0, 1000);
  l.mint(1, 50);
  l.transfer(0, 2, 300);
  l.burn(1, 20);
  l.bond(0, 400);
  CHECK(l.balance(0) == 300);
  CHECK(l.bonded(0) == 400);
  CHECK(l.balance(1) == 30);
  CHECK(l.balance(2) == 300);
  CHECK(l.minted() == 1050);
  CHECK(l.burned() == 20);
  CHECK(l.total_supply() == 1030);
  CHECK(l.total_bonded() == 400);
  l.seal_genesis();
  l.mint_to_treasury(70);
  CHECK(l.genesis() == 1050);
  CHECK(l.minted() == 1120);
  l.pay_from_treasury(1, 30);
  l.deposit_to_treasury(2, 100);
  CHECK(l.treasury() == 140);
  CHECK(l.balance(1) == 60);
  CHECK(l.total_supply() == 1100);
  CHECK_NOTHROW(l.check_supply());
}

TEST_CASE("preconditions throw EconomyError naming the account and amounts, state unchanged") {
  TokenLedger l(2);
  l.mint(0, 100);
  const TokenLedger before = l;
  CHECK_THROWS_WITH_AS(l.transfer(0, 1, 101),
                       doctest::Contains("account 0 has 100 balance, needs 101"), EconomyError);
  CHECK_THROWS_WITH_AS(l.burn(1, 1), doctest::Contains("account 1 has 0 balance, needs 1"),
                       EconomyError);
  CHECK_THROWS_WITH_AS(l.mint(0, -5), doctest::Contains("negative amount -5"), EconomyError);
  CHECK_THROWS_WITH_AS(l.bond(7, 1), doctest::Contains("unknown account 7"), EconomyError);
  CHECK_THROWS_WITH_AS(l.unbond(0, 1, 5), doctest::Contains("has 0 bonded, needs 1"), EconomyError);
  CHECK_THROWS_WITH_AS(l.pay_from_treasury(0, 1), doctest::Contains("treasury has 0"),
                       EconomyError);
  CHECK_THROWS_WITH_AS(l.slash(0, 1.5, SlashTo::kBurn), doctest::Contains("not in [0, 1]"),
                       EconomyError);
  CHECK_THROWS_AS(l.mint(1, INT64_MAX), EconomyError);  // 100 already minted: overflow
  CHECK(l == before);
}

TEST_CASE("unbonding entries mature at their release round, in order") {
  TokenLedger l(2);
  l.mint(0, 100);
  l.mint(1, 100);
  l.bond(0, 100);
  l.bond(1, 100);
  l.unbond(0, 30, 5);
  l.unbond(1, 10, 3);
  l.unbond(0, 20, 3);
  CHECK(l.bonded(0) == 50);
  CHECK(l.unbonding(0) == 50);
  CHECK(l.unbonding(1) == 10);
  REQUIRE(l.unbonding_queue().size() == 3);
  CHECK(l.unbonding_queue()[0].account == 1);  // (3, seq 1) before (3, seq 2) before (5, ...)
  CHECK(l.unbonding_queue()[1].account == 0);
  CHECK(l.unbonding_queue()[2].release_round == 5);
  CHECK(l.release_due(2) == 0);
  CHECK(l.release_due(3) == 30);
  CHECK(l.balance(0) == 20);
  CHECK(l.balance(1) == 10);
  CHECK(l.unbonding(0) == 30);
  CHECK(l.release_due(10) == 30);
  CHECK(l.balance(0) == 50);
  CHECK(l.unbonding(0) == 0);
  CHECK(l.unbonding_queue().empty());
  l.check_supply();
}

TEST_CASE("slash takes floor(fraction * (bonded + unbonding)), bonded first, then the queue") {
  TokenLedger l(2);
  l.mint(0, 1000);
  l.mint(1, 1000);
  l.bond(0, 1000);
  l.bond(1, 1000);
  l.unbond(0, 700, 9);  // bonded 300, unbonding 700
  l.unbond(0, 200, 4);  // bonded 100, unbonding 900 (entry at 4 first in the queue)
  // 0.55 * 1000 = 550: 100 from bonded, 200 from the entry maturing at 4, 250 from the one at 9.
  CHECK(l.slash(0, 0.55, SlashTo::kBurn) == 550);
  CHECK(l.bonded(0) == 0);
  CHECK(l.unbonding(0) == 450);
  CHECK(l.burned() == 550);
  CHECK(l.release_due(4) == 0);  // the slashed-to-zero entry releases nothing
  CHECK(l.release_due(9) == 450);
  CHECK(l.balance(0) == 450);
  // floor: 1/3 of 1000 is 333; to the treasury.
  CHECK(l.slash(1, 1.0 / 3.0, SlashTo::kTreasury) == 333);
  CHECK(l.treasury() == 333);
  CHECK(l.bonded(1) == 667);
  CHECK(l.slash(1, 0.0, SlashTo::kBurn) == 0);
  CHECK(l.slash(1, 1.0, SlashTo::kBurn) == 667);
  l.check_supply();
  CHECK(l.total_supply() == 2000 - 550 - 667);
}

TEST_CASE("a copy is an independent snapshot") {
  TokenLedger l(1);
  l.mint(0, 10);
  TokenLedger snap = l;
  l.bond(0, 4);
  l.unbond(0, 4, 2);
  CHECK(snap.bonded(0) == 0);
  CHECK(snap.unbonding_queue().empty());
  CHECK(snap.balance(0) == 10);
  CHECK_FALSE(snap == l);
}

TEST_CASE("slash_to parses and prints") {
  CHECK(economy::parse_slash_to("burn") == SlashTo::kBurn);
  CHECK(economy::parse_slash_to("treasury") == SlashTo::kTreasury);
  CHECK(std::string(economy::to_string(SlashTo::kTreasury)) == "treasury");
  CHECK_THROWS_WITH_AS(economy::parse_slash_to("void"), doctest::Contains("\"burn\""),
                       std::invalid_argument);
}

namespace {
// 10k random operations over 20 accounts, some of them failing preconditions (which must leave
// the state unchanged). Returns the ledger.
TokenLedger random_walk(std::uint64_t seed, int ops) {
  core::Rng r(seed, "test.economy.walk");
  TokenLedger l(20);
  std::int64_t round = 0;
  int failed = 0;
  for (int k = 0; k < ops; ++k) {
    const auto a = static_cast<economy::Account>(r.below(20));
    const auto b = static_cast<economy::Account>(r.below(20));
    const Amount x = static_cast<Amount>(r.below(500));
    const TokenLedger before = (k % 97 == 0) ? l : TokenLedger{};
    try {
      switch (r.below(10)) {
        case 0:
          l.mint(a, x);
          break;
        case 1:
          l.burn(a, x);
          break;
        case 2:
          l.transfer(a, b, x);
          break;
        case 3:
          l.bond(a, x);
          break;
        case 4:
          l.unbond(a, x, round + static_cast<std::int64_t>(r.below(10)));
          break;
        case 5:
          l.release_due(round++);
          break;
        case 6:
          l.slash(a, r.uniform(), SlashTo::kBurn);
          break;
        case 7:
          l.slash(a, r.uniform(), SlashTo::kTreasury);
          break;
        case 8:
          l.pay_from_treasury(a, x);
          break;
        case 9:
          l.mint_to_treasury(x);
          break;
      }
    } catch (const EconomyError&) {
      ++failed;
      if (k % 97 == 0) REQUIRE(l == before);
    }
    l.check_supply();
  }
  CHECK(failed > 100);  // the walk exercises the failure paths too
  CHECK(l.burned() > 0);
  CHECK(l.treasury() >= 0);
  return l;
}
}  // namespace

TEST_CASE("10k random operations keep the supply invariant; injected corruption is detected") {
  TokenLedger l = random_walk(1, 10'000);
  CHECK(l.total_supply() == l.minted() - l.burned());
  CHECK(l.total_bonded() + [&] {
    Amount s = l.treasury();
    for (economy::Account a = 0; a < l.size(); ++a) s += l.balance(a) + l.unbonding(a);
    return s;
  }() == l.total_supply());

  // One token created outside mint: the check must name both sides.
  TokenLedger bad = l;
  economy::TokenLedgerTestAccess::add_to_balance(bad, 3, 1);
  CHECK_THROWS_WITH_AS(bad.check_supply(), doctest::Contains("difference 1"),
                       economy::SupplyViolation);
  // A queue entry changed without its account's unbonding total.
  TokenLedger q(1);
  q.mint(0, 100);
  q.bond(0, 100);
  q.unbond(0, 60, 1);
  economy::TokenLedgerTestAccess::add_to_queue_entry(q, 0, -10);
  CHECK_THROWS_WITH_AS(q.check_supply(), doctest::Contains("queue holds 50 for account 0"),
                       economy::SupplyViolation);
  // A negative balance offset by a positive one elsewhere keeps the sum but is caught.
  TokenLedger neg(2);
  economy::TokenLedgerTestAccess::add_to_balance(neg, 0, -5);
  economy::TokenLedgerTestAccess::add_to_balance(neg, 1, 5);
  CHECK_THROWS_WITH_AS(neg.check_supply(), doctest::Contains("balance -5"),
                       economy::SupplyViolation);
}
