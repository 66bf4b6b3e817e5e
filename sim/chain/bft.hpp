// Tendermint / CometBFT BFT consensus: options and constructor (engine in bft.cpp).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "sim/chain/consensus.hpp"

namespace ledgerfl::chain {

// Defaults are the timeouts CometBFT ships in config.toml (v0.38): propose 3 s, prevote 1 s,
// precommit 1 s, each + 0.5 s per round, commit 1 s.
struct BftOptions {
  core::SimTime timeout_propose = core::SimTime::s(3);
  core::SimTime timeout_prevote = core::SimTime::s(1);
  core::SimTime timeout_precommit = core::SimTime::s(1);
  core::SimTime timeout_delta = core::SimTime::ms(500);  // added per round to all three
  core::SimTime timeout_commit = core::SimTime::s(1);    // pause after a commit
  // A validator whose (height, round, step) has not moved for this long re-sends its proposal
  // and votes of the current round (CometBFT's consensus reactor keeps gossiping votes).
  core::SimTime rebroadcast = core::SimTime::s(5);
  std::vector<std::int64_t> voting_power;  // per validator; empty = 1 each
  std::vector<NodeId> byzantine;           // equivocating validators
  // Honest validators forward every vote they first receive from another validator to all
  // others (CometBFT's consensus reactor gossips votes to peers that lack them), so conflicting
  // votes of an equivocator meet at honest validators (duplicate-vote evidence). Off: votes
  // travel only from their signer (n - 1 messages per vote instead of (n - 1)^2).
  bool relay_votes = false;
  std::int64_t vote_bytes = 160;                  // a signed vote on the wire
  std::int64_t proposal_overhead = 200;           // proposal bytes beyond the block
  void validate(std::uint32_t validators) const;  // throws std::invalid_argument
};

// Duplicate-vote evidence (CometBFT DuplicateVoteEvidence): an honest validator (`holder`)
// holds two signed votes of `offender` for the same height, round and vote type that name
// different blocks (kNoBlock = nil). A holder finds it when a second, conflicting vote arrives,
// or when a commit certificate (the next block's LastCommit, or a catch-up commit) carries a
// precommit of the offender that conflicts with the one the holder received.
struct DuplicateVoteEvidence {
  NodeId offender = 0, holder = 0;
  std::int64_t height = 0, round = 0;
  std::uint16_t kind = 0;  // kMsgPrevote or kMsgPrecommit
  std::uint32_t first = 0, second = 0;
  core::SimTime at;
};

// Besides the Consensus interface, tests read what each validator decided.
class BftConsensus : public Consensus {
 public:
  using Consensus::Consensus;
  // decisions(v)[h] = block validator v committed at height h (index 0 = genesis).
  virtual const std::vector<std::uint32_t>& decisions(NodeId v) const = 0;
  virtual bool is_byzantine(NodeId v) const = 0;
  // Makes v an equivocating validator (as if listed in BftOptions::byzantine); before start().
  virtual void add_byzantine(NodeId v) = 0;
  virtual void set_relay_votes(bool on) = 0;  // BftOptions::relay_votes; before start()
  virtual bool relays_votes() const = 0;
  // Called once per (holder, offender, height, round, vote type) when an honest holder first
  // holds duplicate-vote evidence.
  virtual void on_evidence(std::function<void(const DuplicateVoteEvidence&)> f) = 0;
};

std::unique_ptr<BftConsensus> make_bft(const BftOptions& o, ChainContext& ctx);
void register_bft(ConsensusRegistry& r);

}  // namespace ledgerfl::chain
