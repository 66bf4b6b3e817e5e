// The consensus engine interface, the context engines run in, and per-node chain views with
// longest-chain or GHOST fork choice (shared by the PoW, PoA and PoS engines).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/chain/ledger.hpp"
#include "sim/core/engine.hpp"
#include "sim/core/record.hpp"
#include "sim/net/network.hpp"
#include "sim/scenario/registry.hpp"

namespace ledgerfl::chain {

using net::NodeId;

// Message kinds on the wire (net::Message::kind). Engines own the numbers below 100.
enum MsgKind : std::uint16_t {
  kMsgBlock = 1,        // a = block index
  kMsgAttestation = 2,  // PoS: a = slot, b = block voted for
  kMsgProposal = 10,    // BFT: a = height, b = round, c = block | valid_round << 32
  kMsgPrevote = 11,     // BFT: a = height, b = round, c = block or kNoBlock (nil)
  kMsgPrecommit = 12,
  kMsgCommit = 13,  // BFT catch-up: a = height, b = block
};

// What an engine works with. Validators are network nodes [0, net.validators()).
struct ChainContext {
  core::Engine& engine;
  net::Network& net;
  Ledger& ledger;
  std::uint64_t seed;
  core::SimTime duration{};  // of the run ([simulation] duration), for the engines' sanity bounds

  // Gossips block b from node `from` (message size = block bytes); records the gossip id.
  net::GossipId gossip_block(std::uint32_t b, NodeId from);
};

// A BFT commit certificate: the validators whose precommits for the block in `round` (> 2/3 of
// the voting power) made a validator commit it at `height`. The simulation counts the messages;
// the writer signs the certificate it records (chain::precommit_signing_message).
struct CommitCertificate {
  std::int64_t height = 0, round = 0;
  std::vector<NodeId> voters;  // ascending
};

class Consensus : public net::Receiver {
 public:
  ~Consensus() override = default;
  virtual std::string_view name() const = 0;
  // Schedules the engine's first events (called once, at time 0).
  virtual void start() = 0;
  // Per-interval figures an engine adds to /rounds (e.g. BFT rounds, PoS missed slots).
  virtual void add_metrics(core::RoundSummary&) {}
  // Safety failures seen (two final blocks at one height, or conflicting BFT decisions among
  // honest validators). A correct engine under its fault bound keeps this at 0.
  virtual std::uint64_t safety_violations() const { return ctx_.ledger.tree.finality_conflicts(); }
  // Validator v's voting power as recorded in /ledger/validators (1 unless the engine weighs).
  virtual std::int64_t voting_power(NodeId) const { return 1; }
  // The commit certificate of block b, if the engine has one (BFT), else null.
  virtual const CommitCertificate* certificate(std::uint32_t) const { return nullptr; }
  // For the memory estimate (ChainMemoryEstimate): the shortest mean time between blocks the
  // engine produces, and whether its blocks are gossiped (a per-node bitmap each) and tracked in
  // per-node views (NodeViews). BFT sends proposals point to point and keeps per-validator
  // decision lists instead.
  virtual core::SimTime nominal_interval() const = 0;
  virtual bool gossips_blocks() const { return true; }

 protected:
  explicit Consensus(ChainContext& ctx) : ctx_(ctx) {}
  ChainContext& ctx_;
};

// Reads [chain.consensus] (every key it uses) and builds the engine.
using ConsensusFactory =
    std::function<std::unique_ptr<Consensus>(const scenario::ParamView&, ChainContext&)>;
using ConsensusRegistry = scenario::Registry<ConsensusFactory>;

enum class ForkChoice { kLongest, kGhost };
std::string_view to_string(ForkChoice f);

// Each node's view of the block tree: which blocks it has accepted and its head. Longest chain
// (Nakamoto 2008): highest block wins, first seen wins ties. GHOST (Sompolinsky & Zohar 2015):
// from an anchor `ghost_window` blocks below the head, descend into the child with the largest
// known subtree. A block whose parent is unknown waits as an orphan.
// Finalizes the canonical block `depth` blocks below the head (if there is one).
void finalize_at_depth(BlockTree& tree, std::int64_t depth, core::SimTime now);

class NodeViews {
 public:
  NodeViews(Ledger& ledger, std::uint32_t nodes, ForkChoice fc, std::int64_t ghost_window = 16);
  std::uint32_t head(NodeId v) const { return head_[v]; }
  bool knows(NodeId v, std::uint32_t b) const {
    return b < known_.size() && !known_[b].empty() && known_[b][v];
  }
  // Node v obtains block b. Returns the blocks accepted as a result (b, then orphans that
  // waited on it), empty if b is already known or now waits for its parent.
  const std::vector<std::uint32_t>& receive(NodeId v, std::uint32_t b);
  // Block sync after a node recovers: it obtains every block its first live neighbour has
  // accepted (in creation order), as a headers-first download would. Instantaneous: the sync
  // traffic is not simulated.
  void sync_from_peer(NodeId v, const net::Network& net);
  // The canonical choice over all blocks produced (the omniscient view that defines
  // on_main_chain): applies the fork choice after block b was added and moves the tree head.
  void update_global(std::uint32_t b, core::SimTime now);

  // What every block-producing engine does with a new block: `proposer` builds it on its own
  // head, accepts it, the canonical choice is updated and the block is gossiped. Returns it.
  std::uint32_t produce(NodeId proposer, core::SimTime now, ChainContext& ctx);
  // A gossiped block b reaches node v: accept it and relay the orphans it connected. Returns
  // whether v relays b itself (false if v knew it, or it waits for its parent).
  bool accept_gossip(NodeId v, std::uint32_t b, ChainContext& ctx);

 private:
  void mark(NodeId v, std::uint32_t b);
  std::uint32_t ghost(NodeId v, std::uint32_t current) const;  // v = kAll for global
  std::uint32_t subtree(NodeId v, std::uint32_t b) const;

  Ledger& ledger_;
  std::uint32_t nodes_;
  ForkChoice fc_;
  std::int64_t window_;
  std::vector<std::uint32_t> head_;
  std::vector<std::vector<std::uint8_t>> known_;
  std::unordered_multimap<std::uint64_t, std::uint32_t> orphans_;  // (parent << 32 | node)
  std::vector<std::uint32_t> accepted_;
};

}  // namespace ledgerfl::chain
