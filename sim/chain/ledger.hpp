// The ledger: transactions, blocks with SHA-256 headers, the block tree with its canonical
// head, reorg and finality events, and the fee-ordered mempool.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sim/chain/hash.hpp"
#include "sim/core/time.hpp"

namespace ledgerfl::chain {

inline constexpr std::uint32_t kNoBlock = 0xffffffffu;
inline constexpr std::uint32_t kNoTx = 0xffffffffu;

// A transaction. Its hash covers (nonce, sender, kind, fee, gas, size, payload_hash), every
// field as fixed-width little-endian, so `ledgerfl audit` can recompute it from /ledger/txs.
struct Transaction {
  std::uint64_t nonce = 0;  // unique sequence number
  std::uint32_t sender = 0;
  std::uint16_t kind = 0;  // TxKinds id
  std::int64_t fee = 0;    // price per gas unit (integer, e.g. gwei)
  std::int64_t gas = 0;
  std::int64_t size = 0;  // bytes
  Hash payload_hash{};
  core::SimTime created;
  Hash hash{};
  std::uint32_t main_block = kNoBlock;  // block on the canonical chain that includes it
};
Hash transaction_hash(const Transaction& t);
// The generic payload kind carries deterministic bytes: the little-endian output of
// core::Rng(nonce, "chain.generic_payload") cut to `size`. Its hash is therefore recomputable
// from (nonce, size).
Hash generic_payload_hash(std::uint64_t nonce, std::int64_t size);

// Transaction kinds by name. "payload" (id 0) is the generic kind; the learning contract
// registers its own kinds later.
class TxKinds {
 public:
  TxKinds() { add("payload"); }
  std::uint16_t add(const std::string& name);
  std::optional<std::uint16_t> find(const std::string& name) const;
  const std::string& name(std::uint16_t id) const { return names_.at(id); }
  std::size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
};

// What a header commits to. The hash covers every field (fixed-width little-endian), as a real
// header commits to its timestamp, gas used (Ethereum's gasUsed) and size, so `ledgerfl audit`
// sees a change to any of them in /ledger/blocks.
struct BlockHeader {
  std::int64_t height = 0;
  Hash parent{};  // zero for genesis
  std::uint32_t proposer = 0xffffffffu;
  std::int64_t timestamp_ns = 0;
  Hash tx_root{};
  Hash state_digest{};
  std::int64_t gas_used = 0;
  std::int64_t bytes = 0;  // header + transactions
};
Hash block_hash(const BlockHeader& h);
// The genesis block's hash (height 0, no transactions, zero state, time 0).
Hash genesis_hash();
// Generic state commitment: SHA-256(parent state || tx_root || height). The learning contract
// replaces this with its own state root.
Hash next_state_digest(const Hash& parent_state, const Hash& tx_root, std::int64_t height);
// With an application (the learning contract): SHA-256(generic digest || app state).
Hash app_state_digest(const Hash& generic, const Hash& app_state);

struct Block {
  BlockHeader header;
  Hash hash{};
  Hash app_state{};  // the application state the header commits to (Ledger::set_app_state)
  std::uint32_t parent = kNoBlock;  // index in the tree
  std::vector<std::uint32_t> txs;   // indices in Ledger::txs
  core::SimTime created;
  core::SimTime finalized_at = core::SimTime::max();
  bool on_main = false;
  std::uint32_t gossip = 0xffffffffu;  // net::GossipId of its propagation, if gossiped
  std::vector<std::uint32_t> children;
  std::int64_t height() const { return header.height; }
  bool finalized() const { return finalized_at != core::SimTime::max(); }
  std::int64_t gas_used() const { return header.gas_used; }
  std::int64_t bytes() const { return header.bytes; }
};

// The canonical head moved to a block that does not extend the old head.
struct ReorgEvent {
  std::uint32_t old_head, new_head, common;
  std::int64_t depth;  // blocks that left the canonical chain
  core::SimTime at;
};

// All blocks ever produced (every fork), the canonical head chosen by the consensus engine, and
// finality. Block 0 is genesis (height 0, zero parent hash, finalized at time 0).
class BlockTree {
 public:
  BlockTree();
  std::uint32_t add(Block b);  // parent must exist; height must be parent's + 1
  const Block& at(std::uint32_t i) const { return blocks_[i]; }
  Block& at(std::uint32_t i) { return blocks_[i]; }
  std::uint32_t size() const { return static_cast<std::uint32_t>(blocks_.size()); }
  std::uint32_t head() const { return head_; }

  // Moves the canonical head to b (emits a ReorgEvent if the old head is not an ancestor).
  void set_head(std::uint32_t b, core::SimTime now);
  // Finalizes b and every ancestor not yet final. Finalizing a block off the canonical chain,
  // or a second block at a finalized height, counts a finality conflict (a safety failure).
  void finalize(std::uint32_t b, core::SimTime now);
  std::uint32_t last_finalized() const { return last_final_; }
  std::uint64_t finality_conflicts() const { return conflicts_; }
  std::uint64_t reorgs() const { return reorgs_; }

  std::uint32_t ancestor(std::uint32_t b, std::int64_t height) const;
  bool is_ancestor(std::uint32_t a, std::uint32_t b) const;  // a on b's path (a == b counts)
  std::uint32_t common_ancestor(std::uint32_t a, std::uint32_t b) const;

  void on_reorg(std::function<void(const ReorgEvent&)> f) { reorg_obs_.push_back(std::move(f)); }
  void on_main_change(std::function<void(std::uint32_t block, bool on_main)> f) {
    main_obs_.push_back(std::move(f));
  }
  void on_finalized(std::function<void(std::uint32_t block)> f) {
    final_obs_.push_back(std::move(f));
  }

 private:
  void set_main(std::uint32_t b, bool on);
  std::vector<Block> blocks_;
  std::uint32_t head_ = 0, last_final_ = 0;
  std::uint64_t conflicts_ = 0, reorgs_ = 0;
  std::vector<std::function<void(const ReorgEvent&)>> reorg_obs_;
  std::vector<std::function<void(std::uint32_t, bool)>> main_obs_;
  std::vector<std::function<void(std::uint32_t)>> final_obs_;
};

// Pending transactions ordered by fee (highest first), then nonce (oldest first).
class Mempool {
 public:
  void add(std::uint32_t tx, const std::vector<Transaction>& store);
  bool remove(std::uint32_t tx, const std::vector<Transaction>& store);
  bool contains(std::uint32_t tx) const { return tx < in_.size() && in_[tx]; }
  std::size_t size() const { return order_.size(); }
  // Takes the best-paying transactions that fit both limits; a transaction that does not fit
  // is skipped (it stays) and the scan stops after 64 consecutive misfits. A transaction that
  // `leave_out` rejects stays too and is not counted as a misfit.
  std::vector<std::uint32_t> take(std::int64_t gas_limit, std::int64_t byte_limit,
                                  const std::vector<Transaction>& store,
                                  const std::function<bool(std::uint32_t tx)>& leave_out = nullptr);

 private:
  struct Key {
    std::int64_t fee;
    std::uint64_t nonce;
    std::uint32_t tx;
    bool operator<(const Key& o) const { return fee != o.fee ? fee > o.fee : nonce < o.nonce; }
  };
  std::set<Key> order_;
  std::vector<std::uint8_t> in_;
};

struct BlockLimits {
  std::int64_t gas_limit = 30'000'000;  // Ethereum mainnet 2021-2024
  std::int64_t max_bytes = 1'000'000;   // Bitcoin's legacy 1 MB
  std::int64_t header_bytes = 80;       // Bitcoin header size
  void validate() const;                // throws std::invalid_argument
};

class Workload;

// Transactions, mempool, block tree and the block builder shared by all consensus engines.
class Ledger {
 public:
  explicit Ledger(BlockLimits limits = {});
  TxKinds kinds;
  std::vector<Transaction> txs;
  Mempool pool;
  BlockTree tree;
  const BlockLimits& limits() const { return limits_; }

  void set_workload(Workload* w) { workload_ = w; }
  // An application state (the learning contract's digest) that each new header commits to:
  // state_digest = SHA-256(generic digest || app state), the app state as of block building.
  void set_app_state(std::function<Hash()> f) { app_state_ = std::move(f); }
  // A proposer-side transaction filter (the application's, e.g. a censoring validator): when
  // `proposer` builds a block, every mempool transaction for which it returns true is left out
  // and stays in the mempool for a later proposer. The chain knows nothing of why.
  using ProposerFilter = std::function<bool(std::uint32_t proposer, const Transaction& tx)>;
  void set_proposer_filter(ProposerFilter f) { proposer_filter_ = std::move(f); }
  // Adds a transaction (hash computed here) to the store and the mempool; returns its index.
  std::uint32_t submit(Transaction t);
  // Builds a block on `parent` from the mempool at time `now` (the workload first generates
  // every transaction created up to now). Returns the new block's index.
  std::uint32_t build_block(std::uint32_t parent, std::uint32_t proposer, core::SimTime now);
  // Blocks off the canonical chain whose height is final: their transactions return to the
  // mempool unless the canonical chain holds them. Called on finality.
  std::uint64_t stale_blocks() const { return stale_; }

 private:
  void on_main_change(std::uint32_t b, bool on);
  void on_final(std::uint32_t b);
  BlockLimits limits_;
  Workload* workload_ = nullptr;
  std::function<Hash()> app_state_;
  ProposerFilter proposer_filter_;
  std::vector<std::uint32_t> unresolved_;  // non-canonical blocks not yet known stale
  std::uint64_t stale_ = 0;
};

}  // namespace ledgerfl::chain
