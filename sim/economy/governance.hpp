// Token-weighted governance: proposals to change a contract parameter, a voting period, a
// quorum of bonded stake, enactment at a round boundary by the caller.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/economy/ledger.hpp"

namespace ledgerfl::economy {

struct Proposal {
  std::uint64_t id = 0;
  std::string key;                                  // contract parameter, e.g. "min_stake"
  std::string value;                                // its new value as written in TOML
  std::int64_t opened_round = 0, closes_round = 0;  // votes count in [opened, closes)
  Amount yes = 0, no = 0;                           // token-weighted tallies
  bool enacted = false;  // set by close_due: passed, for the caller to apply
  bool closed = false;
};

enum class VoteOutcome { kCounted, kUnknownProposal, kNotOpen, kClosed, kDuplicate };
const char* to_string(VoteOutcome v);  // "counted", "unknown proposal", ... (ledger reasons)

// Proposals are numbered 1, 2, ... in creation order. A vote of account a with weight w (the
// caller passes a's bonded stake at voting time) counts once per proposal while
// opened_round <= round < closes_round. close_due(round, total_bonded, quorum) closes every
// open proposal with closes_round <= round, in id order: it passes (enacted = true) iff
//     yes + no >= quorum * total_bonded   (turnout exactly at the quorum passes)
// and yes > no (a tie fails). The comparison is done in long double on the integer tallies.
// Closed proposals stay listed (with their tallies); their voter sets are dropped.
class Governance {
 public:
  // voting_period >= 1 rounds, key non-empty; else std::invalid_argument.
  std::uint64_t propose(std::string key, std::string value, std::int64_t round,
                        std::int64_t voting_period);
  VoteOutcome cast_vote(std::uint64_t id, Account voter, bool yes, Amount weight,
                        std::int64_t round);
  // cast_vote(...) == kCounted: false if closed, not open yet, unknown or a duplicate.
  bool vote(std::uint64_t id, Account voter, bool yes, Amount weight, std::int64_t round) {
    return cast_vote(id, voter, yes, weight, round) == VoteOutcome::kCounted;
  }
  // quorum in [0, 1] and total_bonded >= 0, else std::invalid_argument.
  std::vector<Proposal> close_due(std::int64_t round, Amount total_bonded, double quorum);

  const std::vector<Proposal>& proposals() const { return proposals_; }
  const Proposal* find(std::uint64_t id) const;

 private:
  std::vector<Proposal> proposals_;           // index = id - 1
  std::vector<std::vector<Account>> voters_;  // sorted, per proposal
};

}  // namespace ledgerfl::economy
