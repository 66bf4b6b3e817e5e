// Proof of work (Nakamoto 2008): exponential block times split by hash power, propagation by
// gossip, longest-chain or GHOST fork choice, stale blocks and confirmation depth.
#include "sim/chain/pow.hpp"
#include "sim/chain/registry.hpp"

#include <algorithm>
#include <array>
#include <numeric>
#include <stdexcept>

#include "sim/core/rng.hpp"

namespace ledgerfl::chain {

void PowOptions::validate(std::uint32_t validators) const {
  if (block_interval <= core::SimTime{}) throw std::invalid_argument("block_interval must be > 0");
  if (!hash_power.empty()) {
    if (hash_power.size() != validators)
      throw std::invalid_argument("hash_power needs one entry per validator (" +
                                  std::to_string(validators) + "), got " +
                                  std::to_string(hash_power.size()));
    double sum = 0;
    for (double h : hash_power) {
      if (!(h >= 0)) throw std::invalid_argument("hash_power entries must be >= 0");
      sum += h;
    }
    if (!(sum > 0)) throw std::invalid_argument("hash_power must not be all zero");
  }
  if (confirmations < 1) throw std::invalid_argument("confirmations must be >= 1");
  if (ghost_window < 1) throw std::invalid_argument("ghost_window must be >= 1");
}

namespace {

// The miners' Poisson processes superpose into one of rate 1/T; each block's finder is drawn
// by hash share (a thinned process is again Poisson, so this is exact). A block whose finder
// is down is not found. Every miner always mines on its current head, so restarting on a new
// head costs nothing (memorylessness).
class Pow final : public Consensus {
 public:
  Pow(const PowOptions& o, ChainContext& ctx)
      : Consensus(ctx), o_(o), views_(ctx.ledger, ctx.net.size(), o.fork_choice, o.ghost_window) {
    const std::uint32_t v = ctx.net.validators();
    o_.validate(v);
    std::vector<double> w = o_.hash_power.empty() ? std::vector<double>(v, 1.0) : o_.hash_power;
    const double sum = std::accumulate(w.begin(), w.end(), 0.0);
    cdf_.resize(v);
    double acc = 0;
    for (std::uint32_t i = 0; i < v; ++i) cdf_[i] = (acc += w[i] / sum);
  }
  std::string_view name() const override { return "pow"; }
  core::SimTime nominal_interval() const override { return o_.block_interval; }
  void start() override { schedule_next(); }

  bool on_gossip(NodeId at, NodeId, net::GossipId, const net::Message& m) override {
    if (m.kind != kMsgBlock) return true;
    return views_.accept_gossip(at, static_cast<std::uint32_t>(m.a), ctx_);
  }
  void on_message(NodeId, const net::Message&) override {}
  void on_node_state(NodeId v, bool up) override {
    if (up) views_.sync_from_peer(v, ctx_.net);
  }

  const NodeViews& views() const { return views_; }

 private:
  void schedule_next() {
    core::Rng rng(ctx_.seed, "pow.block", 0, found_);
    const double dt = rng.exponential(1.0 / o_.block_interval.seconds());
    ctx_.engine.schedule_in(core::SimTime::from_seconds(dt), [this] { mine(); });
  }
  void mine() {
    core::Rng rng(ctx_.seed, "pow.finder", 0, found_);
    ++found_;
    const double u = rng.uniform();
    auto miner = static_cast<NodeId>(
        std::min<std::ptrdiff_t>(std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin(),
                                 static_cast<std::ptrdiff_t>(cdf_.size()) - 1));
    if (ctx_.net.is_up(miner)) {
      const core::SimTime now = ctx_.engine.now();
      views_.produce(miner, now, ctx_);
      finalize_at_depth(ctx_.ledger.tree, o_.confirmations, now);
    }
    schedule_next();
  }

  PowOptions o_;
  NodeViews views_;
  std::vector<double> cdf_;
  std::uint64_t found_ = 0;
};

}  // namespace

std::unique_ptr<Consensus> make_pow(const PowOptions& o, ChainContext& ctx) {
  return std::make_unique<Pow>(o, ctx);
}

void register_pow(ConsensusRegistry& r) {
  r.add({"pow",
         "Nakamoto proof of work: exponential block times by hash share, longest chain or "
         "GHOST (Nakamoto 2008; Sompolinsky & Zohar 2015)",
         {{"block_interval", "duration", "600s", "s", "mean time between blocks (network-wide)"},
          {"hash_power", "list<float>", "[] (equal)", "",
           "relative hash power per validator (normalised)"},
          {"fork_choice", "string", "longest", "", "'longest' chain or 'ghost'"},
          {"ghost_window", "int", "16", "blocks", "GHOST anchor depth below the head"},
          {"confirmations", "int", "6", "blocks", "depth after which a block counts as final"}}},
        [](const scenario::ParamView& p, ChainContext& ctx) {
          PowOptions o;
          o.block_interval = p.duration("block_interval", o.block_interval,
                                        scenario::Bounds{0.0, std::nullopt, true, false});
          check_slots_per_run(p, "block_interval", o.block_interval, ctx.duration);
          o.hash_power =
              p.number_list("hash_power", std::vector<double>{}, scenario::Bounds::non_negative());
          static constexpr std::array<std::string_view, 2> kFc = {"longest", "ghost"};
          o.fork_choice = p.choice("fork_choice", kFc, "longest") == "ghost" ? ForkChoice::kGhost
                                                                             : ForkChoice::kLongest;
          o.ghost_window = p.integer("ghost_window", 16, scenario::Bounds::at_least(1));
          o.confirmations = p.integer("confirmations", 6, scenario::Bounds::at_least(1));
          try {
            o.validate(ctx.net.validators());
          } catch (const std::invalid_argument& e) {
            p.fail("hash_power", e.what());
          }
          return make_pow(o, ctx);
        });
}

}  // namespace ledgerfl::chain
