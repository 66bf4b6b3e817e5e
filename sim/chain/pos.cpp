// Proof of stake with fixed slots: the proposer is drawn by stake from on-chain randomness (the
// previous block hash), each validator attests once per epoch in its slot's committee, and
// blocks finalize at a depth or by Casper FFG-style epoch checkpoints (Buterin et al. 2020,
// "Combining GHOST and Casper"): a checkpoint is justified when attestations of > 2/3 of the
// stake for chains containing it have spread to most nodes; justified epochs e and e+1
// finalize e's checkpoint.
#include "sim/chain/pos.hpp"
#include "sim/chain/registry.hpp"

#include <algorithm>
#include <array>
#include <numeric>
#include <stdexcept>

#include "sim/core/rng.hpp"

namespace ledgerfl::chain {

void PosOptions::validate(std::uint32_t validators) const {
  if (slot <= core::SimTime{}) throw std::invalid_argument("slot must be > 0");
  if (slots_per_epoch < 1) throw std::invalid_argument("slots_per_epoch must be >= 1");
  if (!stake.empty()) {
    if (stake.size() != validators)
      throw std::invalid_argument("stake needs one entry per validator (" +
                                  std::to_string(validators) + ")");
    double sum = 0;
    for (double s : stake) {
      if (!(s >= 0)) throw std::invalid_argument("stake entries must be >= 0");
      sum += s;
    }
    if (!(sum > 0)) throw std::invalid_argument("stake must not be all zero");
  }
  if (depth < 1) throw std::invalid_argument("depth must be >= 1");
  if (attestation_bytes <= 0) throw std::invalid_argument("attestation_bytes must be > 0");
}

NodeId pos_proposer(const Hash& randomness, std::uint64_t slot, const std::vector<double>& cdf) {
  const Hash h = Encoder().hash(randomness).u64(slot).digest();
  std::uint64_t x = 0;
  for (int i = 0; i < 8; ++i) x |= static_cast<std::uint64_t>(h[i]) << (8 * i);
  const double u = static_cast<double>(x >> 11) * 0x1.0p-53;
  auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
  return static_cast<NodeId>(
      std::min<std::ptrdiff_t>(it - cdf.begin(), static_cast<std::ptrdiff_t>(cdf.size()) - 1));
}

namespace {

class Pos final : public Consensus {
 public:
  Pos(const PosOptions& o, ChainContext& ctx)
      : Consensus(ctx), o_(o), views_(ctx.ledger, ctx.net.size(), o.fork_choice) {
    v_ = ctx.net.validators();
    o_.validate(v_);
    stake_ = o_.stake.empty() ? std::vector<double>(v_, 1.0) : o_.stake;
    total_ = std::accumulate(stake_.begin(), stake_.end(), 0.0);
    cdf_.resize(v_);
    double acc = 0;
    for (std::uint32_t i = 0; i < v_; ++i) cdf_[i] = (acc += stake_[i] / total_);
    cdf_.back() = 1.0;
  }
  std::string_view name() const override { return "pos"; }
  core::SimTime nominal_interval() const override { return o_.slot; }
  void start() override {
    ctx_.engine.schedule_at(o_.slot, [this] { slot(); });
  }

  bool on_gossip(NodeId at, NodeId, net::GossipId g, const net::Message& m) override {
    if (m.kind == kMsgAttestation) {
      // Counted once it reached a majority of the nodes: what a proposer would include.
      if (ctx_.net.reached(g) == ctx_.net.size() / 2 + 1) count_attestation(m);
      return true;
    }
    if (m.kind != kMsgBlock) return true;
    return views_.accept_gossip(at, static_cast<std::uint32_t>(m.a), ctx_);
  }
  void on_message(NodeId, const net::Message&) override {}
  void on_node_state(NodeId v, bool up) override {
    if (up) views_.sync_from_peer(v, ctx_.net);
  }
  void add_metrics(core::RoundSummary& r) override {
    r.add("missed_slots", static_cast<std::int64_t>(missed_ - missed_reported_));
    r.add("justified_epoch", static_cast<std::int64_t>(last_justified_));
    missed_reported_ = missed_;
  }

 private:
  struct Epoch {
    std::uint32_t checkpoint = kNoBlock;
    double support = 0;
    bool justified = false;
  };

  void slot() {
    ++slot_;
    const core::SimTime now = ctx_.engine.now();
    const std::int64_t e = static_cast<std::int64_t>((slot_ - 1) / o_.slots_per_epoch);
    BlockTree& t = ctx_.ledger.tree;
    // Randomness: the canonical head's hash at the slot start (on-chain, as RANDAO mixes are).
    const NodeId proposer = pos_proposer(t.at(t.head()).hash, slot_, cdf_);
    if (ctx_.net.is_up(proposer)) {
      views_.produce(proposer, now, ctx_);
      if (o_.finality == PosFinality::kDepth) finalize_at_depth(t, o_.depth, now);
    } else {
      ++missed_;
    }
    if (epochs_.size() <= static_cast<std::size_t>(e))
      epochs_.resize(static_cast<std::size_t>(e) + 1);
    if (epochs_[static_cast<std::size_t>(e)].checkpoint == kNoBlock)
      epochs_[static_cast<std::size_t>(e)].checkpoint = t.head();
    // Committee: every validator attests once per epoch, in the slot a per-epoch shuffle gives.
    if (perm_epoch_ != e) {
      perm_.resize(v_);
      std::iota(perm_.begin(), perm_.end(), 0u);
      core::Rng rng(ctx_.seed, "pos.committee", static_cast<std::uint64_t>(e));
      rng.shuffle(std::span<NodeId>(perm_));
      perm_epoch_ = e;
    }
    const auto k = static_cast<std::uint64_t>((slot_ - 1) % o_.slots_per_epoch);
    const std::uint64_t lo = k * v_ / static_cast<std::uint64_t>(o_.slots_per_epoch);
    const std::uint64_t hi = (k + 1) * v_ / static_cast<std::uint64_t>(o_.slots_per_epoch);
    const std::uint64_t packed = lo | hi << 32;
    const std::uint64_t s = slot_;
    ctx_.engine.schedule_in(core::SimTime::ns(o_.slot.count_ns() / 3),
                            [this, packed, s] { attest(packed, s); });
    ctx_.engine.schedule_in(o_.slot, [this] { slot(); });
  }

  void attest(std::uint64_t packed, std::uint64_t s) {
    const std::uint64_t lo = packed & 0xffffffffu, hi = packed >> 32;
    for (std::uint64_t i = lo; i < hi; ++i) {
      const NodeId v = perm_[i];
      if (!ctx_.net.is_up(v)) continue;
      net::Message m;
      m.kind = kMsgAttestation;
      m.origin = v;
      m.bytes = o_.attestation_bytes;
      m.a = s;
      m.b = views_.head(v);
      const net::GossipId g = ctx_.net.broadcast(v, m);
      if (ctx_.net.reached(g) == ctx_.net.size() / 2 + 1) count_attestation(m);
      pending_release_.push_back(g);
    }
    // Attestation bitmaps are only needed while they spread; free those two slots old.
    while (pending_release_.size() > 2 * static_cast<std::size_t>(v_)) {
      ctx_.net.release(pending_release_.front());
      pending_release_.erase(pending_release_.begin());
    }
  }

  void count_attestation(const net::Message& m) {
    const auto e =
        static_cast<std::size_t>((m.a - 1) / static_cast<std::uint64_t>(o_.slots_per_epoch));
    if (e >= epochs_.size()) return;
    Epoch& ep = epochs_[e];
    BlockTree& t = ctx_.ledger.tree;
    if (ep.justified || ep.checkpoint == kNoBlock) return;
    if (!t.is_ancestor(ep.checkpoint, static_cast<std::uint32_t>(m.b))) return;
    ep.support += stake_[m.origin];
    if (3 * ep.support <= 2 * total_) return;
    ep.justified = true;
    last_justified_ = static_cast<std::int64_t>(e);
    const core::SimTime now = ctx_.engine.now();
    if (o_.finality == PosFinality::kEpoch && e > 0 && epochs_[e - 1].justified &&
        t.at(epochs_[e - 1].checkpoint).on_main)
      t.finalize(epochs_[e - 1].checkpoint, now);
  }

  PosOptions o_;
  NodeViews views_;
  std::uint32_t v_ = 0;
  std::vector<double> stake_, cdf_;
  double total_ = 0;
  std::uint64_t slot_ = 0, missed_ = 0, missed_reported_ = 0;
  std::vector<Epoch> epochs_;
  std::vector<NodeId> perm_;
  std::int64_t perm_epoch_ = -1, last_justified_ = -1;
  std::vector<net::GossipId> pending_release_;
};

}  // namespace

std::unique_ptr<Consensus> make_pos(const PosOptions& o, ChainContext& ctx) {
  return std::make_unique<Pos>(o, ctx);
}

void register_pos(ConsensusRegistry& r) {
  r.add({"pos",
         "slot-based proof of stake: stake-weighted proposers from the previous block hash, "
         "per-epoch attestation committees, depth or epoch-checkpoint finality (Ethereum "
         "Gasper, Buterin et al. 2020)",
         {{"slot", "duration", "12s", "s", "slot length"},
          {"slots_per_epoch", "int", "32", "slots", "epoch length"},
          {"stake", "list<float>", "[] (equal)", "", "stake per validator"},
          {"finality", "string", "epoch", "", "'epoch' checkpoints or 'depth'"},
          {"depth", "int", "64", "blocks", "blocks on top before final (finality = depth)"},
          {"fork_choice", "string", "longest", "", "'longest' or 'ghost'"},
          {"attestation_bytes", "size", "230", "bytes", "attestation size on the wire"}}},
        [](const scenario::ParamView& p, ChainContext& ctx) {
          PosOptions o;
          o.slot = p.duration("slot", o.slot, scenario::Bounds{0.0, std::nullopt, true, false});
          check_slots_per_run(p, "slot", o.slot, ctx.duration);
          o.slots_per_epoch = p.integer("slots_per_epoch", 32, scenario::Bounds::at_least(1));
          o.stake = p.number_list("stake", std::vector<double>{}, scenario::Bounds::non_negative());
          static constexpr std::array<std::string_view, 2> kFin = {"epoch", "depth"};
          o.finality = p.choice("finality", kFin, "epoch") == "depth" ? PosFinality::kDepth
                                                                      : PosFinality::kEpoch;
          o.depth = p.integer("depth", 64, scenario::Bounds::at_least(1));
          static constexpr std::array<std::string_view, 2> kFc = {"longest", "ghost"};
          o.fork_choice = p.choice("fork_choice", kFc, "longest") == "ghost" ? ForkChoice::kGhost
                                                                             : ForkChoice::kLongest;
          o.attestation_bytes = p.size("attestation_bytes", 230);
          try {
            o.validate(ctx.net.validators());
          } catch (const std::invalid_argument& e) {
            p.fail("stake", e.what());
          }
          return make_pos(o, ctx);
        });
}

}  // namespace ledgerfl::chain
