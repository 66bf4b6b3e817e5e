// Proof of authority (Aura / Clique style): options and constructor (engine in poa.cpp).
#pragma once

#include <memory>

#include "sim/chain/consensus.hpp"

namespace ledgerfl::chain {

struct PoaOptions {
  core::SimTime interval = core::SimTime::s(2);  // slot length
  // Blocks on top of a block before it is final; 0 = floor(n/2) + 1, Clique's rule that a
  // majority of signers must have built on it.
  std::int64_t finality_depth = 0;
  void validate() const;  // throws std::invalid_argument
};

std::unique_ptr<Consensus> make_poa(const PoaOptions& o, ChainContext& ctx);
void register_poa(ConsensusRegistry& r);

}  // namespace ledgerfl::chain
