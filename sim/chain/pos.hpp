// Slot-based proof of stake (Ethereum Gasper style): options and constructor (engine in pos.cpp).
#pragma once

#include <memory>
#include <vector>

#include "sim/chain/consensus.hpp"

namespace ledgerfl::chain {

enum class PosFinality { kEpoch, kDepth };

struct PosOptions {
  core::SimTime slot = core::SimTime::s(12);  // Ethereum consensus specs SECONDS_PER_SLOT
  std::int64_t slots_per_epoch = 32;          // SLOTS_PER_EPOCH
  std::vector<double> stake;                  // per validator; empty = equal
  PosFinality finality = PosFinality::kEpoch;
  std::int64_t depth = 64;  // blocks on top before final (finality = depth)
  ForkChoice fork_choice = ForkChoice::kLongest;
  std::int64_t attestation_bytes = 230;           // an unaggregated attestation on the wire
  void validate(std::uint32_t validators) const;  // throws std::invalid_argument
};

// Proposer of `slot` given the randomness block hash: stake-weighted draw from
// SHA-256(hash || slot). Exposed for the frequency test.
NodeId pos_proposer(const Hash& randomness, std::uint64_t slot, const std::vector<double>& cdf);

std::unique_ptr<Consensus> make_pos(const PosOptions& o, ChainContext& ctx);
void register_pos(ConsensusRegistry& r);

}  // namespace ledgerfl::chain
