// Ledger implementation: hashing of transactions and headers, the block tree, the mempool.
#include "sim/chain/ledger.hpp"

#include <algorithm>
#include <stdexcept>

#include "sim/chain/workload.hpp"
#include "sim/core/rng.hpp"

namespace ledgerfl::chain {

Hash transaction_hash(const Transaction& t) {
  return Encoder()
      .u64(t.nonce)
      .u64(t.sender)
      .u64(t.kind)
      .i64(t.fee)
      .i64(t.gas)
      .i64(t.size)
      .hash(t.payload_hash)
      .digest();
}

Hash generic_payload_hash(std::uint64_t nonce, std::int64_t size) {
  const auto n = static_cast<std::size_t>(std::max<std::int64_t>(size, 0));
  thread_local std::vector<std::uint8_t> bytes;  // reused: no allocation per transaction
  bytes.resize(n);
  core::Rng rng(nonce, "chain.generic_payload");
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t x = rng.next();
    for (std::size_t k = i; k < std::min(n, i + 8); ++k, x >>= 8)
      bytes[k] = static_cast<std::uint8_t>(x);
  }
  return sha256(bytes);
}

std::uint16_t TxKinds::add(const std::string& name) {
  if (find(name)) throw std::logic_error("duplicate transaction kind '" + name + "'");
  names_.push_back(name);
  return static_cast<std::uint16_t>(names_.size() - 1);
}

std::optional<std::uint16_t> TxKinds::find(const std::string& name) const {
  for (std::size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return static_cast<std::uint16_t>(i);
  return std::nullopt;
}

Hash block_hash(const BlockHeader& h) {
  return Encoder()
      .i64(h.height)
      .hash(h.parent)
      .u64(h.proposer)
      .i64(h.timestamp_ns)
      .hash(h.tx_root)
      .hash(h.state_digest)
      .i64(h.gas_used)
      .i64(h.bytes)
      .digest();
}

Hash genesis_hash() {
  BlockHeader g;
  g.tx_root = merkle_root({});
  return block_hash(g);
}

Hash app_state_digest(const Hash& generic, const Hash& app_state) {
  Encoder e;
  e.hash(generic).hash(app_state);
  return e.digest();
}

Hash next_state_digest(const Hash& parent_state, const Hash& tx_root, std::int64_t height) {
  return Encoder().hash(parent_state).hash(tx_root).i64(height).digest();
}

// ---- BlockTree ----

BlockTree::BlockTree() {
  Block g;
  g.header.tx_root = merkle_root({});
  g.header.state_digest = Hash{};
  g.hash = block_hash(g.header);
  g.finalized_at = core::SimTime{};
  g.on_main = true;
  blocks_.push_back(std::move(g));
}

std::uint32_t BlockTree::add(Block b) {
  if (b.parent >= blocks_.size()) throw std::logic_error("block parent does not exist");
  if (b.header.height != blocks_[b.parent].header.height + 1)
    throw std::logic_error("block height must be parent height + 1");
  b.on_main = false;
  b.finalized_at = core::SimTime::max();
  b.children.clear();
  const auto idx = static_cast<std::uint32_t>(blocks_.size());
  blocks_[b.parent].children.push_back(idx);
  blocks_.push_back(std::move(b));
  return idx;
}

std::uint32_t BlockTree::ancestor(std::uint32_t b, std::int64_t height) const {
  while (b != kNoBlock && blocks_[b].header.height > height) b = blocks_[b].parent;
  return b;
}

bool BlockTree::is_ancestor(std::uint32_t a, std::uint32_t b) const {
  return ancestor(b, blocks_[a].header.height) == a;
}

std::uint32_t BlockTree::common_ancestor(std::uint32_t a, std::uint32_t b) const {
  while (blocks_[a].header.height > blocks_[b].header.height) a = blocks_[a].parent;
  while (blocks_[b].header.height > blocks_[a].header.height) b = blocks_[b].parent;
  while (a != b) {
    a = blocks_[a].parent;
    b = blocks_[b].parent;
  }
  return a;
}

void BlockTree::set_main(std::uint32_t b, bool on) {
  blocks_[b].on_main = on;
  for (auto& f : main_obs_) f(b, on);
}

void BlockTree::set_head(std::uint32_t b, core::SimTime now) {
  if (b == head_) return;
  const std::uint32_t old = head_;
  const std::uint32_t common = common_ancestor(old, b);
  std::int64_t depth = 0;
  for (std::uint32_t x = old; x != common; x = blocks_[x].parent, ++depth) set_main(x, false);
  std::vector<std::uint32_t> path;
  for (std::uint32_t x = b; x != common; x = blocks_[x].parent) path.push_back(x);
  for (auto it = path.rbegin(); it != path.rend(); ++it) set_main(*it, true);
  head_ = b;
  if (depth > 0) {
    ++reorgs_;
    ReorgEvent e{old, b, common, depth, now};
    for (auto& f : reorg_obs_) f(e);
  }
}

void BlockTree::finalize(std::uint32_t b, core::SimTime now) {
  if (blocks_[b].finalized()) return;
  if (!blocks_[b].on_main || !is_ancestor(last_final_, b)) ++conflicts_;
  std::vector<std::uint32_t> path;
  for (std::uint32_t x = b; x != kNoBlock && !blocks_[x].finalized(); x = blocks_[x].parent)
    path.push_back(x);
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    blocks_[*it].finalized_at = now;
    for (auto& f : final_obs_) f(*it);
  }
  if (blocks_[b].header.height > blocks_[last_final_].header.height) last_final_ = b;
}

// ---- Mempool ----

void Mempool::add(std::uint32_t tx, const std::vector<Transaction>& store) {
  if (tx >= in_.size()) in_.resize(std::max<std::size_t>(tx + 1, in_.size() * 2), 0);
  if (in_[tx]) return;
  in_[tx] = 1;
  order_.insert({store[tx].fee, store[tx].nonce, tx});
}

bool Mempool::remove(std::uint32_t tx, const std::vector<Transaction>& store) {
  if (!contains(tx)) return false;
  in_[tx] = 0;
  order_.erase({store[tx].fee, store[tx].nonce, tx});
  return true;
}

std::vector<std::uint32_t> Mempool::take(std::int64_t gas_limit, std::int64_t byte_limit,
                                         const std::vector<Transaction>& store,
                                         const std::function<bool(std::uint32_t)>& leave_out) {
  std::vector<std::uint32_t> out;
  std::int64_t gas = 0, bytes = 0;
  int misfits = 0;
  for (auto it = order_.begin(); it != order_.end() && misfits < 64;) {
    const Transaction& t = store[it->tx];
    if (leave_out && leave_out(it->tx)) {
      ++it;
      continue;
    }
    if (gas + t.gas <= gas_limit && bytes + t.size <= byte_limit) {
      gas += t.gas;
      bytes += t.size;
      out.push_back(it->tx);
      in_[it->tx] = 0;
      it = order_.erase(it);
      misfits = 0;
    } else {
      ++misfits;
      ++it;
    }
  }
  return out;
}

void BlockLimits::validate() const {
  if (gas_limit <= 0) throw std::invalid_argument("chain.gas_limit must be > 0");
  if (header_bytes < 0) throw std::invalid_argument("chain.header_bytes must be >= 0");
  if (max_bytes <= header_bytes)
    throw std::invalid_argument("chain.max_block_bytes must exceed header_bytes");
}

// ---- Ledger ----

Ledger::Ledger(BlockLimits limits) : limits_(limits) {
  limits_.validate();
  tree.on_main_change([this](std::uint32_t b, bool on) { on_main_change(b, on); });
  tree.on_finalized([this](std::uint32_t b) { on_final(b); });
}

std::uint32_t Ledger::submit(Transaction t) {
  t.hash = transaction_hash(t);
  t.main_block = kNoBlock;
  txs.push_back(t);
  const auto idx = static_cast<std::uint32_t>(txs.size() - 1);
  pool.add(idx, txs);
  return idx;
}

std::uint32_t Ledger::build_block(std::uint32_t parent, std::uint32_t proposer, core::SimTime now) {
  if (workload_) workload_->advance_to(now, *this);
  Block b;
  b.parent = parent;
  if (proposer_filter_)
    b.txs = pool.take(limits_.gas_limit, limits_.max_bytes - limits_.header_bytes, txs,
                      [&](std::uint32_t t) { return proposer_filter_(proposer, txs[t]); });
  else
    b.txs = pool.take(limits_.gas_limit, limits_.max_bytes - limits_.header_bytes, txs);
  std::vector<Hash> leaves;
  leaves.reserve(b.txs.size());
  b.header.bytes = limits_.header_bytes;
  for (std::uint32_t t : b.txs) {
    leaves.push_back(txs[t].hash);
    b.header.gas_used += txs[t].gas;
    b.header.bytes += txs[t].size;
  }
  const Block& p = tree.at(parent);
  b.header.height = p.header.height + 1;
  b.header.parent = p.hash;
  b.header.proposer = proposer;
  b.header.timestamp_ns = now.count_ns();
  b.header.tx_root = merkle_root(leaves);
  b.header.state_digest =
      next_state_digest(p.header.state_digest, b.header.tx_root, b.header.height);
  if (app_state_) {
    b.app_state = app_state_();
    b.header.state_digest = app_state_digest(b.header.state_digest, b.app_state);
  }
  b.hash = block_hash(b.header);
  b.created = now;
  const std::uint32_t idx = tree.add(std::move(b));
  unresolved_.push_back(idx);
  return idx;
}

void Ledger::on_main_change(std::uint32_t b, bool on) {
  for (std::uint32_t t : tree.at(b).txs) {
    if (on) {
      txs[t].main_block = b;
      pool.remove(t, txs);
    } else if (txs[t].main_block == b) {
      txs[t].main_block = kNoBlock;
      pool.add(t, txs);
    }
  }
  if (!on && std::find(unresolved_.begin(), unresolved_.end(), b) == unresolved_.end())
    unresolved_.push_back(b);
}

void Ledger::on_final(std::uint32_t b) {
  const std::int64_t h = tree.at(b).header.height;
  std::erase_if(unresolved_, [&](std::uint32_t x) {
    const Block& blk = tree.at(x);
    if (blk.on_main) return blk.header.height <= h;
    if (blk.header.height > h) return false;
    ++stale_;
    for (std::uint32_t t : blk.txs)
      if (txs[t].main_block == kNoBlock) pool.add(t, txs);
    return true;
  });
}

}  // namespace ledgerfl::chain
