// Proof of authority: round-robin proposers on a fixed slot clock (OpenEthereum Aura, EIP-225
// Clique); an offline proposer leaves its slot empty.
#include "sim/chain/poa.hpp"
#include "sim/chain/registry.hpp"

#include <stdexcept>

namespace ledgerfl::chain {

void PoaOptions::validate() const {
  if (interval <= core::SimTime{}) throw std::invalid_argument("interval must be > 0");
  if (finality_depth < 0) throw std::invalid_argument("finality_depth must be >= 0");
}

namespace {

class Poa final : public Consensus {
 public:
  Poa(const PoaOptions& o, ChainContext& ctx)
      : Consensus(ctx), o_(o), views_(ctx.ledger, ctx.net.size(), ForkChoice::kLongest) {
    o_.validate();
    depth_ = o_.finality_depth > 0 ? o_.finality_depth : ctx.net.validators() / 2 + 1;
  }
  std::string_view name() const override { return "poa"; }
  core::SimTime nominal_interval() const override { return o_.interval; }
  void start() override {
    ctx_.engine.schedule_at(o_.interval, [this] { slot(); });
  }

  bool on_gossip(NodeId at, NodeId, net::GossipId, const net::Message& m) override {
    if (m.kind != kMsgBlock) return true;
    return views_.accept_gossip(at, static_cast<std::uint32_t>(m.a), ctx_);
  }
  void on_message(NodeId, const net::Message&) override {}
  void on_node_state(NodeId v, bool up) override {
    if (up) views_.sync_from_peer(v, ctx_.net);
  }
  void add_metrics(core::RoundSummary& r) override {
    r.add("missed_slots", static_cast<std::int64_t>(missed_ - missed_reported_));
    missed_reported_ = missed_;
  }

 private:
  void slot() {
    ++slot_;
    const auto proposer = static_cast<NodeId>(slot_ % ctx_.net.validators());
    const core::SimTime now = ctx_.engine.now();
    if (ctx_.net.is_up(proposer)) {
      views_.produce(proposer, now, ctx_);
      finalize_at_depth(ctx_.ledger.tree, depth_, now);
    } else {
      ++missed_;
    }
    ctx_.engine.schedule_in(o_.interval, [this] { slot(); });
  }

  PoaOptions o_;
  NodeViews views_;
  std::int64_t depth_ = 1;
  std::uint64_t slot_ = 0, missed_ = 0, missed_reported_ = 0;
};

}  // namespace

std::unique_ptr<Consensus> make_poa(const PoaOptions& o, ChainContext& ctx) {
  return std::make_unique<Poa>(o, ctx);
}

void register_poa(ConsensusRegistry& r) {
  r.add({"poa",
         "proof of authority: round-robin proposers, fixed slots, empty slot when the proposer "
         "is down (Aura; Clique, EIP-225)",
         {{"interval", "duration", "2s", "s", "slot length (one block per slot)"},
          {"finality_depth", "int", "0", "blocks",
           "blocks on top before final; 0 = floor(n/2)+1 (a signer majority)"}}},
        [](const scenario::ParamView& p, ChainContext& ctx) {
          PoaOptions o;
          o.interval =
              p.duration("interval", o.interval, scenario::Bounds{0.0, std::nullopt, true, false});
          check_slots_per_run(p, "interval", o.interval, ctx.duration);
          o.finality_depth = p.integer("finality_depth", 0, scenario::Bounds::non_negative());
          return make_poa(o, ctx);
        });
}

}  // namespace ledgerfl::chain
