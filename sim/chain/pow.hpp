// Nakamoto proof of work: options and constructor (engine in pow.cpp).
#pragma once

#include <memory>
#include <vector>

#include "sim/chain/consensus.hpp"

namespace ledgerfl::chain {

struct PowOptions {
  core::SimTime block_interval = core::SimTime::s(600);  // Bitcoin's target
  std::vector<double> hash_power;  // per validator, normalised; empty = equal shares
  ForkChoice fork_choice = ForkChoice::kLongest;
  std::int64_t ghost_window = 16;
  std::int64_t confirmations = 6;  // Nakamoto 2008, section 11; the usual exchange rule
  void validate(std::uint32_t validators) const;  // throws std::invalid_argument
};

std::unique_ptr<Consensus> make_pow(const PowOptions& o, ChainContext& ctx);
void register_pow(ConsensusRegistry& r);

}  // namespace ledgerfl::chain
