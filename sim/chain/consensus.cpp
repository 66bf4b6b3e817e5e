// Chain context helpers and per-node fork-choice views.
#include "sim/chain/consensus.hpp"

namespace ledgerfl::chain {

namespace {
constexpr NodeId kAll = 0xffffffffu;
}

net::GossipId ChainContext::gossip_block(std::uint32_t b, NodeId from) {
  net::Message m;
  m.kind = kMsgBlock;
  m.origin = from;
  m.bytes = ledger.tree.at(b).bytes();
  m.a = b;
  const net::GossipId g = net.broadcast(from, m);
  ledger.tree.at(b).gossip = g;
  return g;
}

std::string_view to_string(ForkChoice f) {
  return f == ForkChoice::kGhost ? "ghost" : "longest";
}

NodeViews::NodeViews(Ledger& ledger, std::uint32_t nodes, ForkChoice fc, std::int64_t ghost_window)
    : ledger_(ledger), nodes_(nodes), fc_(fc), window_(ghost_window), head_(nodes, 0) {
  known_.resize(1);
  known_[0].assign(nodes_, 1);  // everyone has genesis
}

void NodeViews::mark(NodeId v, std::uint32_t b) {
  if (known_.size() <= b) known_.resize(ledger_.tree.size());
  if (known_[b].empty()) known_[b].assign(nodes_, 0);
  known_[b][v] = 1;
}

std::uint32_t NodeViews::subtree(NodeId v, std::uint32_t b) const {
  std::uint32_t count = 1;
  for (std::uint32_t c : ledger_.tree.at(b).children)
    if (v == kAll || knows(v, c)) count += subtree(v, c);
  return count;
}

std::uint32_t NodeViews::ghost(NodeId v, std::uint32_t current) const {
  const BlockTree& t = ledger_.tree;
  std::uint32_t cur = t.ancestor(current, t.at(current).height() - window_);
  if (cur == kNoBlock) cur = 0;
  for (;;) {
    std::uint32_t best = kNoBlock, best_size = 0;
    for (std::uint32_t c : t.at(cur).children) {
      if (v != kAll && !knows(v, c)) continue;
      const std::uint32_t s = subtree(v, c);
      // Ties keep the branch of the current head (first seen), then the older block.
      if (s > best_size || (s == best_size && t.is_ancestor(c, current))) {
        best = c;
        best_size = s;
      }
    }
    if (best == kNoBlock) return cur;
    cur = best;
  }
}

const std::vector<std::uint32_t>& NodeViews::receive(NodeId v, std::uint32_t b) {
  accepted_.clear();
  if (knows(v, b)) return accepted_;
  const std::uint32_t parent = ledger_.tree.at(b).parent;
  if (!knows(v, parent)) {
    orphans_.emplace(static_cast<std::uint64_t>(parent) << 32 | v, b);
    return accepted_;
  }
  std::vector<std::uint32_t> todo{b};
  while (!todo.empty()) {
    const std::uint32_t x = todo.back();
    todo.pop_back();
    if (knows(v, x)) continue;
    mark(v, x);
    accepted_.push_back(x);
    auto range = orphans_.equal_range(static_cast<std::uint64_t>(x) << 32 | v);
    for (auto it = range.first; it != range.second; ++it) todo.push_back(it->second);
    orphans_.erase(range.first, range.second);
  }
  const BlockTree& t = ledger_.tree;
  if (fc_ == ForkChoice::kLongest) {
    for (std::uint32_t x : accepted_)
      if (t.at(x).height() > t.at(head_[v]).height()) head_[v] = x;
  } else {
    head_[v] = ghost(v, head_[v]);
  }
  return accepted_;
}

void NodeViews::sync_from_peer(NodeId v, const net::Network& net) {
  for (NodeId peer : net.neighbours(v)) {
    if (!net.is_up(peer)) continue;
    for (std::uint32_t b = 1; b < ledger_.tree.size(); ++b)
      if (knows(peer, b)) receive(v, b);
    return;
  }
}

std::uint32_t NodeViews::produce(NodeId proposer, core::SimTime now, ChainContext& ctx) {
  const std::uint32_t b = ctx.ledger.build_block(head(proposer), proposer, now);
  receive(proposer, b);
  update_global(b, now);
  ctx.gossip_block(b, proposer);
  return b;
}

bool NodeViews::accept_gossip(NodeId v, std::uint32_t b, ChainContext& ctx) {
  const auto& acc = receive(v, b);
  if (acc.empty()) return false;  // known already, or an orphan relayed once its parent arrives
  for (std::size_t i = 1; i < acc.size(); ++i) ctx.net.relay(v, ctx.ledger.tree.at(acc[i]).gossip);
  return true;
}

void finalize_at_depth(BlockTree& t, std::int64_t depth, core::SimTime now) {
  const std::int64_t h = t.at(t.head()).height() - depth;
  if (h > 0) t.finalize(t.ancestor(t.head(), h), now);
}

void NodeViews::update_global(std::uint32_t b, core::SimTime now) {
  BlockTree& t = ledger_.tree;
  if (fc_ == ForkChoice::kLongest) {
    if (t.at(b).height() > t.at(t.head()).height()) t.set_head(b, now);
  } else {
    t.set_head(ghost(kAll, t.head()), now);
  }
}

}  // namespace ledgerfl::chain
