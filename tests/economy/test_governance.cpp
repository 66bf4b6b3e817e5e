// Governance: voting windows, one vote per account, quorum edge cases, closing order.
#include <doctest/doctest.h>

#include "sim/economy/governance.hpp"

using namespace ledgerfl;
using economy::Governance;
using economy::VoteOutcome;

TEST_CASE("turnout exactly at the quorum passes; one token less fails") {
  Governance g;
  const auto a = g.propose("min_stake", "200", 10, 5);
  const auto b = g.propose("min_stake", "300", 10, 5);
  CHECK(a == 1);
  CHECK(b == 2);
  // quorum 0.5 of 100 bonded: 50 needed.
  CHECK(g.vote(a, 0, true, 30, 10));
  CHECK(g.vote(a, 1, false, 20, 14));  // last round of the window
  CHECK(g.vote(b, 0, true, 30, 12));
  CHECK(g.vote(b, 1, false, 19, 12));
  CHECK(g.close_due(14, 100, 0.5).empty());  // closes at round 15
  const auto closed = g.close_due(15, 100, 0.5);
  REQUIRE(closed.size() == 2);
  CHECK(closed[0].id == a);  // id order
  CHECK(closed[0].enacted);
  CHECK(closed[0].yes == 30);
  CHECK(closed[0].no == 20);
  CHECK_FALSE(closed[1].enacted);            // 49 < 50
  CHECK(g.close_due(20, 100, 0.5).empty());  // closed once
  CHECK(g.find(a)->closed);
}

TEST_CASE("two-thirds quorum on integer stakes, and ties fail") {
  Governance g;
  const auto p = g.propose("quorum", "0.5", 0, 1);
  CHECK(g.vote(p, 0, true, 200, 0));  // exactly 2/3 of 300 (quorum given as 2.0 / 3.0)
  const auto r = g.close_due(1, 300, 2.0 / 3.0);
  REQUIRE(r.size() == 1);
  CHECK(r[0].enacted);
  const auto q = g.propose("quorum", "0.5", 1, 1);
  CHECK(g.vote(q, 0, true, 199, 1));
  CHECK_FALSE(g.close_due(2, 300, 2.0 / 3.0)[0].enacted);
  const auto t = g.propose("aggregator", "\"krum\"", 2, 3);
  CHECK(g.vote(t, 0, true, 40, 2));
  CHECK(g.vote(t, 1, false, 40, 3));
  const auto tie = g.close_due(5, 80, 1.0);  // full turnout, tie
  REQUIRE(tie.size() == 1);
  CHECK_FALSE(tie[0].enacted);
  const auto z = g.propose("reward_per_round", "10", 5, 1);
  CHECK_FALSE(g.close_due(6, 0, 0.0)[0].enacted);  // no votes: 0 yes is not > 0 no
  (void)z;
}

TEST_CASE("duplicate, early, late and unknown votes are rejected with a reason") {
  Governance g;
  const auto p = g.propose("min_stake", "1", 3, 2);
  CHECK(g.cast_vote(p, 4, true, 10, 2) == VoteOutcome::kNotOpen);
  CHECK(g.cast_vote(p, 4, true, 10, 3) == VoteOutcome::kCounted);
  CHECK(g.cast_vote(p, 4, false, 10, 4) == VoteOutcome::kDuplicate);  // even the other side
  CHECK(g.cast_vote(p, 5, true, 10, 5) == VoteOutcome::kClosed);
  CHECK(g.cast_vote(9, 5, true, 10, 3) == VoteOutcome::kUnknownProposal);
  CHECK(g.cast_vote(0, 5, true, 10, 3) == VoteOutcome::kUnknownProposal);
  CHECK(g.find(p)->yes == 10);
  CHECK(g.find(p)->no == 0);
  CHECK(std::string(economy::to_string(VoteOutcome::kDuplicate)) == "duplicate vote");
  g.close_due(5, 10, 0.5);
  CHECK(g.cast_vote(p, 6, true, 1, 4) == VoteOutcome::kClosed);  // closed, even "in" window
  CHECK_THROWS_AS(g.cast_vote(p, 6, true, -1, 4), std::invalid_argument);
  CHECK_THROWS_WITH_AS(g.propose("x", "1", 0, 0), doctest::Contains("voting_period = 0"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(g.close_due(9, 10, 1.5), doctest::Contains("quorum = 1.5"),
                       std::invalid_argument);
}
