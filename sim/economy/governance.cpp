// Token-weighted proposals, one vote per account, quorum of bonded stake.
#include "sim/economy/governance.hpp"

#include <algorithm>
#include <stdexcept>

namespace ledgerfl::economy {

const char* to_string(VoteOutcome v) {
  switch (v) {
    case VoteOutcome::kCounted:
      return "counted";
    case VoteOutcome::kUnknownProposal:
      return "unknown proposal";
    case VoteOutcome::kNotOpen:
      return "voting not open yet";
    case VoteOutcome::kClosed:
      return "voting closed";
    case VoteOutcome::kDuplicate:
      return "duplicate vote";
  }
  return "?";
}

std::uint64_t Governance::propose(std::string key, std::string value, std::int64_t round,
                                  std::int64_t voting_period) {
  if (key.empty()) throw std::invalid_argument("governance: a proposal needs a parameter key");
  if (voting_period < 1)
    throw std::invalid_argument("governance: voting_period = " + std::to_string(voting_period) +
                                " must be >= 1 round");
  Proposal p;
  p.id = proposals_.size() + 1;
  p.key = std::move(key);
  p.value = std::move(value);
  p.opened_round = round;
  p.closes_round = round + voting_period;
  proposals_.push_back(std::move(p));
  voters_.emplace_back();
  return proposals_.back().id;
}

const Proposal* Governance::find(std::uint64_t id) const {
  if (id == 0 || id > proposals_.size()) return nullptr;
  return &proposals_[id - 1];
}

VoteOutcome Governance::cast_vote(std::uint64_t id, Account voter, bool yes, Amount weight,
                                  std::int64_t round) {
  if (weight < 0)
    throw std::invalid_argument("governance: vote weight " + std::to_string(weight) +
                                " of account " + std::to_string(voter) + " is negative");
  if (id == 0 || id > proposals_.size()) return VoteOutcome::kUnknownProposal;
  Proposal& p = proposals_[id - 1];
  if (p.closed || round >= p.closes_round) return VoteOutcome::kClosed;
  if (round < p.opened_round) return VoteOutcome::kNotOpen;
  auto& v = voters_[id - 1];
  auto it = std::lower_bound(v.begin(), v.end(), voter);
  if (it != v.end() && *it == voter) return VoteOutcome::kDuplicate;
  v.insert(it, voter);
  (yes ? p.yes : p.no) += weight;
  return VoteOutcome::kCounted;
}

std::vector<Proposal> Governance::close_due(std::int64_t round, Amount total_bonded,
                                            double quorum) {
  if (!(quorum >= 0.0 && quorum <= 1.0))
    throw std::invalid_argument("governance: quorum = " + std::to_string(quorum) +
                                " must be in [0, 1]");
  if (total_bonded < 0)
    throw std::invalid_argument("governance: total bonded stake " + std::to_string(total_bonded) +
                                " is negative");
  std::vector<Proposal> out;
  for (std::size_t k = 0; k < proposals_.size(); ++k) {
    Proposal& p = proposals_[k];
    if (p.closed || p.closes_round > round) continue;
    const long double turnout = static_cast<long double>(p.yes) + static_cast<long double>(p.no);
    const bool quorate =
        turnout >= static_cast<long double>(quorum) * static_cast<long double>(total_bonded);
    p.enacted = quorate && p.yes > p.no;
    p.closed = true;
    voters_[k].clear();
    voters_[k].shrink_to_fit();
    out.push_back(p);
  }
  return out;
}

}  // namespace ledgerfl::economy
