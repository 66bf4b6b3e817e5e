// Tendermint BFT (Buchman, Kwon & Milosevic 2018, "The latest gossip on BFT consensus",
// Algorithm 1) with CometBFT's timeouts: propose -> prevote -> precommit with > 2/3 of the
// voting power, locking, round skipping on f+1 messages, and all messages over the network.
#include "sim/chain/bft.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include <fmt/core.h>

#include "sim/core/rng.hpp"

namespace ledgerfl::chain {

void BftOptions::validate(std::uint32_t validators) const {
  for (core::SimTime t : {timeout_propose, timeout_prevote, timeout_precommit, rebroadcast})
    if (t <= core::SimTime{}) throw std::invalid_argument("BFT timeouts must be > 0");
  if (timeout_delta < core::SimTime{} || timeout_commit < core::SimTime{})
    throw std::invalid_argument("timeout_delta and timeout_commit must be >= 0");
  if (!voting_power.empty()) {
    if (voting_power.size() != validators)
      throw std::invalid_argument("voting_power needs one entry per validator (" +
                                  std::to_string(validators) + ")");
    for (auto p : voting_power)
      if (p <= 0) throw std::invalid_argument("voting_power entries must be > 0");
  }
  for (NodeId b : byzantine)
    if (b >= validators)
      throw std::invalid_argument("byzantine id " + std::to_string(b) + " is not a validator");
  if (vote_bytes <= 0 || proposal_overhead < 0)
    throw std::invalid_argument("vote_bytes must be > 0 and proposal_overhead >= 0");
}

namespace {

// Smallest mean one-way latency over all links (ms); infinity without links.
double min_link_latency_ms(const net::Network& net) {
  double ms = std::numeric_limits<double>::infinity();
  for (NodeId u = 0; u < net.size(); ++u)
    for (NodeId v : net.neighbours(u)) ms = std::min(ms, net.link_latency_ms(u, v));
  return ms;
}
// Mean of the links' mean one-way latencies (ms); 0 without links.
double mean_link_latency_ms(const net::Network& net) {
  double sum = 0;
  std::size_t count = 0;
  for (NodeId u = 0; u < net.size(); ++u)
    for (NodeId v : net.neighbours(u)) {
      sum += net.link_latency_ms(u, v);
      ++count;
    }
  return count ? sum / static_cast<double>(count) : 0.0;
}

constexpr std::uint32_t kUnset = 0xfffffffeu;  // no vote received from that validator
constexpr std::uint32_t kNil = kNoBlock;

enum class Step : std::uint8_t { kPropose, kPrevote, kPrecommit };
enum class TimerKind : std::uint8_t { kPropose, kPrevote, kPrecommit, kStartHeight, kCheck };

struct Tally {
  std::vector<std::pair<std::uint32_t, std::int64_t>> by_value;  // value -> power
  std::int64_t any = 0;
  void add(std::uint32_t value, std::int64_t power) {
    any += power;
    for (auto& [v, p] : by_value)
      if (v == value) {
        p += power;
        return;
      }
    by_value.emplace_back(value, power);
  }
  std::int64_t of(std::uint32_t value) const {
    for (const auto& [v, p] : by_value)
      if (v == value) return p;
    return 0;
  }
};

struct RoundState {
  std::uint32_t proposal = kNoBlock;
  std::int64_t pol_round = -1;
  std::vector<std::uint32_t> prevote, precommit;  // per voter
  Tally prevotes, precommits;
  std::vector<std::uint8_t> sender;  // any message from that validator in this round
  std::int64_t sender_power = 0;
  bool prevote_timer = false, precommit_timer = false, quorum_seen = false;
};

struct Validator {
  std::int64_t height = 1, round = 0;
  Step step = Step::kPropose;
  bool waiting = true;  // between a commit (or the start) and StartRound(0)
  std::uint32_t locked = kNoBlock, valid = kNoBlock;
  std::int64_t locked_round = -1, valid_round = -1;
  std::vector<std::uint32_t> decided{0};  // height -> block; genesis at 0
  std::map<std::int64_t, std::map<std::int64_t, RoundState>> votes;  // height -> round -> state
  std::map<std::int64_t, std::uint32_t> pending_commits;             // catch-up, future heights
  std::uint64_t progress = 0, progress_at_check = ~0ULL;
  std::vector<std::pair<std::int64_t, core::SimTime>> catchup_sent;  // per peer
  std::uint32_t my_prevote = kUnset, my_precommit = kUnset;
};

struct Timer {
  NodeId v;
  TimerKind kind;
  std::int64_t height, round;
};

class Bft final : public BftConsensus {
 public:
  Bft(const BftOptions& o, ChainContext& ctx) : BftConsensus(ctx), o_(o) {
    n_ = ctx.net.validators();
    o_.validate(n_);
    power_ = o_.voting_power.empty() ? std::vector<std::int64_t>(n_, 1) : o_.voting_power;
    total_ = std::accumulate(power_.begin(), power_.end(), std::int64_t{0});
    byz_.assign(n_, 0);
    for (NodeId b : o_.byzantine) byz_[b] = 1;
    vals_.resize(n_);
    for (auto& v : vals_) v.catchup_sent.assign(n_, {-1, core::SimTime{}});
    equal_power_ =
        std::all_of(power_.begin(), power_.end(), [&](auto p) { return p == power_[0]; });
  }

  std::string_view name() const override { return "bft"; }
  // timeout_commit + three mean one-way delays (proposal, prevote, precommit): a height
  // without failed rounds. (The hang bound, check_heights_per_run, uses the smallest latency.)
  core::SimTime nominal_interval() const override {
    return o_.timeout_commit + core::SimTime::from_seconds(3e-3 * mean_link_latency_ms(ctx_.net));
  }
  bool gossips_blocks() const override { return false; }
  const std::vector<std::uint32_t>& decisions(NodeId v) const override { return vals_[v].decided; }
  bool is_byzantine(NodeId v) const override { return byz_[v] != 0; }
  void add_byzantine(NodeId v) override {
    if (v >= n_)
      throw std::invalid_argument("byzantine id " + std::to_string(v) + " is not a validator");
    byz_[v] = 1;
  }
  void set_relay_votes(bool on) override { o_.relay_votes = on; }
  bool relays_votes() const override { return o_.relay_votes; }
  void on_evidence(std::function<void(const DuplicateVoteEvidence&)> f) override {
    evidence_obs_ = std::move(f);
  }
  std::uint64_t safety_violations() const override { return violations_; }
  std::int64_t voting_power(NodeId v) const override { return power_[v]; }
  const CommitCertificate* certificate(std::uint32_t b) const override {
    auto it = certs_.find(b);
    return it == certs_.end() ? nullptr : &it->second;
  }

  void start() override {
    for (NodeId v = 0; v < n_; ++v) {
      vals_[v].waiting = false;
      start_round(v, 0);
      arm(v, TimerKind::kCheck, 0, 0, o_.rebroadcast);
    }
    for (NodeId v = 0; v < n_; ++v) process(v);
  }

  void add_metrics(core::RoundSummary& r) override {
    r.add("bft_rounds_started", static_cast<std::int64_t>(rounds_ - rounds_reported_));
    r.add("bft_height", static_cast<std::int64_t>(max_height_));
    rounds_reported_ = rounds_;
  }

  bool on_gossip(NodeId, NodeId, net::GossipId, const net::Message&) override { return true; }

  void on_node_state(NodeId v, bool up) override {
    if (!up || v >= n_) return;
    // Timers that fired while the node was down were ignored: re-arm the current step's.
    Validator& s = vals_[v];
    if (s.waiting) {
      arm(v, TimerKind::kStartHeight, s.height, 0, core::SimTime{});
    } else if (s.step == Step::kPropose) {
      arm(v, TimerKind::kPropose, s.height, s.round, timeout(o_.timeout_propose, s.round));
    }
    auto& rs = round_state(v, s.height, s.round);
    rs.prevote_timer = rs.precommit_timer = false;
    rebroadcast(v);
    process(v);
  }

  void on_message(NodeId at, const net::Message& m) override {
    if (at >= n_) return;
    const NodeId from = m.origin;
    Validator& s = vals_[at];
    const auto h = static_cast<std::int64_t>(m.a);
    if (m.kind == kMsgCommit) {
      const auto b = static_cast<std::uint32_t>(m.b);
      if (b >= certified_.size() || !certified_[b]) return;
      check_certificate(at, b);
      if (h == s.height && valid_block(at, b, h)) {
        decide(at, b);
      } else if (h > s.height) {
        s.pending_commits[h] = b;
      }
      return;
    }
    const bool relayed = (m.c >> 63) != 0;  // a vote forwarded by another validator
    if (h < s.height) {                     // the sender lags behind: help it catch up
      if (!relayed) send_catchup(at, from, h);
      return;
    }
    const auto r = static_cast<std::int64_t>(m.b);
    RoundState& rs = round_state(at, h, r);
    if (!rs.sender[from]) {
      rs.sender[from] = 1;
      rs.sender_power += power_[from];
    }
    if (m.kind == kMsgProposal) {
      if (from != proposer(h, r) || rs.proposal != kNoBlock) return;
      rs.proposal = static_cast<std::uint32_t>(m.c & 0xffffffffu);
      rs.pol_round = static_cast<std::int64_t>(m.c >> 32) - 1;
      if (byz_[at]) byz_react(at, h, r, rs.proposal);
    } else {
      const bool fresh = record_vote(rs, m.kind, from, static_cast<std::uint32_t>(m.c), at, h, r);
      if (fresh && o_.relay_votes && !byz_[at] && from != at) {
        net::Message f = m;
        f.c = m.c | (std::uint64_t{1} << 63);
        for (NodeId to = 0; to < n_; ++to)
          if (to != at && to != from) ctx_.net.send(at, to, f);
      }
    }
    if (h == s.height) process(at);
  }

 private:
  core::SimTime timeout(core::SimTime base, std::int64_t round) const {
    return base + o_.timeout_delta * round;
  }
  NodeId proposer(std::int64_t h, std::int64_t r) const {
    if (equal_power_) return static_cast<NodeId>((h + r) % n_);
    core::Rng rng(ctx_.seed, "bft.proposer", static_cast<std::uint64_t>(h),
                  static_cast<std::uint64_t>(r));
    std::int64_t x = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(total_)));
    for (NodeId v = 0; v < n_; ++v)
      if ((x -= power_[v]) < 0) return v;
    return n_ - 1;
  }
  bool quorum(std::int64_t p) const { return 3 * p > 2 * total_; }
  bool one_third(std::int64_t p) const { return 3 * p > total_; }

  RoundState& round_state(NodeId v, std::int64_t h, std::int64_t r) {
    RoundState& rs = vals_[v].votes[h][r];
    if (rs.sender.empty()) {
      rs.sender.assign(n_, 0);
      rs.prevote.assign(n_, kUnset);
      rs.precommit.assign(n_, kUnset);
    }
    return rs;
  }

  // Returns whether the vote is new (the first of `from` for this round and type).
  bool record_vote(RoundState& rs, std::uint16_t kind, NodeId from, std::uint32_t value, NodeId at,
                   std::int64_t h, std::int64_t r) {
    auto& slot = kind == kMsgPrevote ? rs.prevote[from] : rs.precommit[from];
    if (slot != kUnset) {  // first vote counts; a different second one is evidence
      if (slot != value) report(at, from, h, r, kind, slot, value);
      return false;
    }
    slot = value;
    (kind == kMsgPrevote ? rs.prevotes : rs.precommits).add(value, power_[from]);
    return true;
  }

  bool valid_block(NodeId v, std::uint32_t b, std::int64_t h) const {
    const Block& blk = ctx_.ledger.tree.at(b);
    return blk.height() == h && blk.parent == vals_[v].decided.back();
  }

  void arm(NodeId v, TimerKind k, std::int64_t h, std::int64_t r, core::SimTime dt) {
    std::uint32_t id;
    if (!free_timers_.empty()) {
      id = free_timers_.back();
      free_timers_.pop_back();
      timers_[id] = {v, k, h, r};
    } else {
      id = static_cast<std::uint32_t>(timers_.size());
      timers_.push_back({v, k, h, r});
    }
    ctx_.engine.schedule_in(dt, [this, id] { fire(id); });
  }

  void fire(std::uint32_t id) {
    const Timer t = timers_[id];
    free_timers_.push_back(id);
    Validator& s = vals_[t.v];
    if (t.kind == TimerKind::kCheck) {
      if (ctx_.net.is_up(t.v) && s.progress == s.progress_at_check) rebroadcast(t.v);
      s.progress_at_check = s.progress;
      arm(t.v, TimerKind::kCheck, 0, 0, o_.rebroadcast);
      return;
    }
    if (!ctx_.net.is_up(t.v) || t.height != s.height) return;
    switch (t.kind) {
      case TimerKind::kStartHeight:
        if (s.waiting) {
          s.waiting = false;
          start_round(t.v, 0);
        }
        break;
      case TimerKind::kPropose:
        if (!s.waiting && t.round == s.round && s.step == Step::kPropose) {
          cast(t.v, kMsgPrevote, kNil);
          s.step = Step::kPrevote;
          bump(t.v);
        }
        break;
      case TimerKind::kPrevote:
        if (!s.waiting && t.round == s.round && s.step == Step::kPrevote) {
          cast(t.v, kMsgPrecommit, kNil);
          s.step = Step::kPrecommit;
          bump(t.v);
        }
        break;
      case TimerKind::kPrecommit:
        if (!s.waiting && t.round == s.round) start_round(t.v, s.round + 1);
        break;
      case TimerKind::kCheck:
        break;
    }
    process(t.v);
  }

  void bump(NodeId v) { ++vals_[v].progress; }

  void start_round(NodeId v, std::int64_t r) {
    Validator& s = vals_[v];
    s.round = r;
    s.step = Step::kPropose;
    s.my_prevote = s.my_precommit = kUnset;
    ++rounds_;
    bump(v);
    round_state(v, s.height, r);
    if (proposer(s.height, r) == v) {
      if (byz_[v]) {
        byz_propose(v, s.height, r);
      } else {
        std::uint32_t b = s.valid;
        if (b == kNoBlock) b = ctx_.ledger.build_block(s.decided.back(), v, ctx_.engine.now());
        send_proposal(v, s.height, r, b, s.valid == kNoBlock ? -1 : s.valid_round, kNone);
      }
    } else {
      arm(v, TimerKind::kPropose, s.height, r, timeout(o_.timeout_propose, r));
    }
  }

  static constexpr NodeId kNone = 0xffffffffu;

  net::Message make(NodeId from, std::uint16_t kind, std::int64_t h, std::int64_t r,
                    std::uint64_t c, std::int64_t bytes) const {
    net::Message m;
    m.kind = kind;
    m.origin = from;
    m.a = static_cast<std::uint64_t>(h);
    m.b = static_cast<std::uint64_t>(r);
    m.c = c;
    m.bytes = bytes;
    return m;
  }

  // Sends PROPOSAL(h, r, b, pol) to every validator (parity = 0/1: only even/odd recipients).
  void send_proposal(NodeId v, std::int64_t h, std::int64_t r, std::uint32_t b, std::int64_t pol,
                     NodeId parity) {
    const std::uint64_t c = b | static_cast<std::uint64_t>(pol + 1) << 32;
    const net::Message m =
        make(v, kMsgProposal, h, r, c, ctx_.ledger.tree.at(b).bytes() + o_.proposal_overhead);
    for (NodeId to = 0; to < n_; ++to) {
      if (parity != kNone && to % 2 != parity) continue;
      if (to == v) {
        RoundState& rs = round_state(v, h, r);
        if (rs.proposal == kNoBlock) {
          rs.proposal = b;
          rs.pol_round = pol;
        }
        continue;
      }
      ctx_.net.send(v, to, m);
    }
  }

  // Records v's own vote and sends it to all other validators.
  void cast(NodeId v, std::uint16_t kind, std::uint32_t value) {
    Validator& s = vals_[v];
    (kind == kMsgPrevote ? s.my_prevote : s.my_precommit) = value;
    if (byz_[v]) {
      byz_vote(v, kind, s.height, s.round);
      return;
    }
    record_vote(round_state(v, s.height, s.round), kind, v, value, v, s.height, s.round);
    const net::Message m = make(v, kind, s.height, s.round, value, o_.vote_bytes);
    for (NodeId to = 0; to < n_; ++to)
      if (to != v) ctx_.net.send(v, to, m);
  }

  void rebroadcast(NodeId v) {
    Validator& s = vals_[v];
    if (s.waiting) return;
    RoundState& rs = round_state(v, s.height, s.round);
    if (proposer(s.height, s.round) == v && rs.proposal != kNoBlock && !byz_[v])
      send_proposal(v, s.height, s.round, rs.proposal, rs.pol_round, kNone);
    for (std::uint16_t kind : {kMsgPrevote, kMsgPrecommit}) {
      const std::uint32_t mine = kind == kMsgPrevote ? s.my_prevote : s.my_precommit;
      if (mine == kUnset) continue;
      if (byz_[v]) {
        byz_vote(v, kind, s.height, s.round);
        continue;
      }
      const net::Message m = make(v, kind, s.height, s.round, mine, o_.vote_bytes);
      for (NodeId to = 0; to < n_; ++to)
        if (to != v) ctx_.net.send(v, to, m);
    }
  }

  void send_catchup(NodeId v, NodeId to, std::int64_t h) {
    Validator& s = vals_[v];
    auto& [last_h, last_t] = s.catchup_sent[to];
    const core::SimTime now = ctx_.engine.now();
    if (last_h == h && now - last_t < o_.rebroadcast) return;
    last_h = h;
    last_t = now;
    // Commits for up to 16 heights, so a far-behind node catches up in few exchanges.
    for (std::int64_t x = h; x < s.height && x < h + 16; ++x) {
      const std::uint32_t b = s.decided[static_cast<std::size_t>(x)];
      ctx_.net.send(v, to,
                    make(v, kMsgCommit, x, b, 0, ctx_.ledger.tree.at(b).bytes() + 200 * n_ / 3));
      // a commit carries the block and > 2/3 precommit signatures
    }
  }

  // The rules of Algorithm 1 for validator v at its current height, applied until none fires.
  void process(NodeId v) {
    if (!ctx_.net.is_up(v)) return;
    for (int guard = 0; guard < 64; ++guard) {
      Validator& s = vals_[v];
      if (s.waiting) return;
      const std::int64_t h = s.height;
      auto& rounds = s.votes[h];
      // Lines 49-54: a proposal with > 2/3 precommits in any round decides.
      bool decided = false;
      for (auto& [r, rs] : rounds) {
        if (rs.proposal != kNoBlock && quorum(rs.precommits.of(rs.proposal)) &&
            valid_block(v, rs.proposal, h)) {
          record_certificate(rs, h, r);
          decide(v, rs.proposal);
          decided = true;
          break;
        }
      }
      if (decided) {
        if (vals_[v].waiting) return;
        continue;
      }
      // Lines 55-56: f+1 messages of a later round: skip to it.
      bool skipped = false;
      for (auto& [r, rs] : rounds)
        if (r > s.round && one_third(rs.sender_power)) {
          start_round(v, r);
          skipped = true;
          break;
        }
      if (skipped) continue;
      RoundState& rs = round_state(v, h, s.round);
      const std::uint32_t p = rs.proposal;
      if (s.step == Step::kPropose && p != kNoBlock) {
        if (rs.pol_round < 0) {  // lines 22-27
          const bool ok = valid_block(v, p, h) && (s.locked_round == -1 || s.locked == p);
          cast(v, kMsgPrevote, ok ? p : kNil);
          s.step = Step::kPrevote;
          bump(v);
          continue;
        }
        if (rs.pol_round < s.round) {  // lines 28-33
          RoundState& pol = round_state(v, h, rs.pol_round);
          if (quorum(pol.prevotes.of(p))) {
            const bool ok =
                valid_block(v, p, h) && (s.locked_round <= rs.pol_round || s.locked == p);
            cast(v, kMsgPrevote, ok ? p : kNil);
            s.step = Step::kPrevote;
            bump(v);
            continue;
          }
        }
      }
      if (s.step == Step::kPrevote && !rs.prevote_timer && quorum(rs.prevotes.any)) {  // 34-35
        rs.prevote_timer = true;
        arm(v, TimerKind::kPrevote, h, s.round, timeout(o_.timeout_prevote, s.round));
      }
      if (s.step != Step::kPropose && !rs.quorum_seen && p != kNoBlock &&
          quorum(rs.prevotes.of(p)) && valid_block(v, p, h)) {  // lines 36-43
        rs.quorum_seen = true;
        if (s.step == Step::kPrevote) {
          s.locked = p;
          s.locked_round = s.round;
          cast(v, kMsgPrecommit, p);
          s.step = Step::kPrecommit;
        }
        s.valid = p;
        s.valid_round = s.round;
        bump(v);
        continue;
      }
      if (s.step == Step::kPrevote && quorum(rs.prevotes.of(kNil))) {  // lines 44-46
        cast(v, kMsgPrecommit, kNil);
        s.step = Step::kPrecommit;
        bump(v);
        continue;
      }
      if (!rs.precommit_timer && quorum(rs.precommits.any)) {  // lines 47-48
        rs.precommit_timer = true;
        arm(v, TimerKind::kPrecommit, h, s.round, timeout(o_.timeout_precommit, s.round));
      }
      return;
    }
  }

  // The first quorum of precommits seen for a block is its certificate (the precommits the
  // deciding validator holds: CometBFT's LastCommit). Catch-up commits reuse it.
  void record_certificate(const RoundState& rs, std::int64_t h, std::int64_t r) {
    auto [it, fresh] = certs_.try_emplace(rs.proposal);
    if (!fresh) return;
    it->second.height = h;
    it->second.round = r;
    for (NodeId x = 0; x < n_; ++x)
      if (rs.precommit[x] == rs.proposal) it->second.voters.push_back(x);
  }

  // Duplicate-vote evidence held by honest validator `at` (once per offence and holder).
  void report(NodeId at, NodeId offender, std::int64_t h, std::int64_t r, std::uint16_t kind,
              std::uint32_t first, std::uint32_t second) {
    if (byz_[at] || offender == at) return;
    if (!reported_.insert({at, offender, h, r, kind}).second) return;
    if (evidence_obs_)
      evidence_obs_(
          DuplicateVoteEvidence{offender, at, h, r, kind, first, second, ctx_.engine.now()});
  }

  // A commit certificate for b (what a catch-up commit or the next block's LastCommit carries)
  // against the precommits `at` received itself at b's height: a voter whose precommit there
  // named another block (or nil) signed two precommits in one round.
  void check_certificate(NodeId at, std::uint32_t b) {
    if (byz_[at]) return;
    const auto c = certs_.find(b);
    if (c == certs_.end()) return;
    const CommitCertificate& cert = c->second;
    Validator& s = vals_[at];
    const auto hv = s.votes.find(cert.height);
    if (hv == s.votes.end()) return;
    const auto rv = hv->second.find(cert.round);
    if (rv == hv->second.end() || rv->second.precommit.empty()) return;
    for (NodeId x : cert.voters) {
      const std::uint32_t mine = rv->second.precommit[x];
      if (mine != kUnset && mine != b)
        report(at, x, cert.height, cert.round, kMsgPrecommit, mine, b);
    }
  }

  void decide(NodeId v, std::uint32_t b) {
    Validator& s = vals_[v];
    const std::int64_t h = s.height;
    check_certificate(v, b);
    s.decided.push_back(b);
    if (!byz_[v]) {
      if (static_cast<std::int64_t>(first_decision_.size()) <= h) {
        first_decision_.resize(static_cast<std::size_t>(h) + 1, kNoBlock);
      }
      auto& first = first_decision_[static_cast<std::size_t>(h)];
      if (first == kNoBlock) {
        first = b;
        BlockTree& t = ctx_.ledger.tree;
        if (t.at(b).parent == t.head()) {
          t.set_head(b, ctx_.engine.now());
          t.finalize(b, ctx_.engine.now());
        }
      } else if (first != b) {
        ++violations_;
      }
    }
    if (certified_.size() <= b) certified_.resize(ctx_.ledger.tree.size() + 1024, 0);
    certified_[b] = 1;
    max_height_ = std::max<std::uint64_t>(max_height_, static_cast<std::uint64_t>(h));
    s.votes.erase(h);
    s.height = h + 1;
    s.round = 0;
    s.step = Step::kPropose;
    s.locked = s.valid = kNoBlock;
    s.locked_round = s.valid_round = -1;
    s.waiting = true;
    bump(v);
    if (auto it = s.pending_commits.find(h + 1); it != s.pending_commits.end()) {
      const std::uint32_t next = it->second;
      s.pending_commits.erase(s.pending_commits.begin(), std::next(it));
      decide(v, next);
      return;
    }
    arm(v, TimerKind::kStartHeight, h + 1, 0, o_.timeout_commit);
  }

  // ---- Byzantine (equivocating) validators. They collude: a Byzantine proposer makes two
  // conflicting blocks, sending one to even and one to odd validators, and every Byzantine
  // validator votes for the first block towards even validators and the second towards odd
  // ones, for every proposal it sees, in both vote steps (double signing).
  void byz_propose(NodeId v, std::int64_t h, std::int64_t r) {
    const core::SimTime now = ctx_.engine.now();
    const std::uint32_t parent = vals_[v].decided.back();
    const std::uint32_t a = ctx_.ledger.build_block(parent, v, now);
    const std::uint32_t b = ctx_.ledger.build_block(parent, v, now + core::SimTime::ns(1));
    byz_blocks_[{h, r}] = {a, b};
    send_proposal(v, h, r, a, -1, 0);
    send_proposal(v, h, r, b, -1, 1);
    for (NodeId x = 0; x < n_; ++x) {
      if (!byz_[x]) continue;
      byz_vote(x, kMsgPrevote, h, r);
      byz_vote(x, kMsgPrecommit, h, r);
    }
  }
  void byz_react(NodeId v, std::int64_t h, std::int64_t r, std::uint32_t p) {
    byz_blocks_.try_emplace({h, r}, p, p);
    byz_vote(v, kMsgPrevote, h, r);
    byz_vote(v, kMsgPrecommit, h, r);
  }
  void byz_vote(NodeId v, std::uint16_t kind, std::int64_t h, std::int64_t r) {
    auto it = byz_blocks_.find({h, r});
    if (it == byz_blocks_.end()) return;
    const auto [a, b] = it->second;
    for (NodeId to = 0; to < n_; ++to) {
      if (to == v) continue;
      const std::uint32_t value = to % 2 == 0 ? a : b;
      ctx_.net.send(v, to, make(v, kind, h, r, value, o_.vote_bytes));
    }
  }

  BftOptions o_;
  std::uint32_t n_ = 0;
  std::vector<std::int64_t> power_;
  std::int64_t total_ = 0;
  bool equal_power_ = true;
  std::vector<std::uint8_t> byz_;
  std::vector<Validator> vals_;
  std::vector<Timer> timers_;
  std::vector<std::uint32_t> free_timers_;
  std::vector<std::uint32_t> first_decision_;
  std::vector<std::uint8_t> certified_;
  std::unordered_map<std::uint32_t, CommitCertificate> certs_;  // block -> its certificate
  std::map<std::pair<std::int64_t, std::int64_t>, std::pair<std::uint32_t, std::uint32_t>>
      byz_blocks_;
  std::uint64_t violations_ = 0, rounds_ = 0, rounds_reported_ = 0, max_height_ = 0;
  std::function<void(const DuplicateVoteEvidence&)> evidence_obs_;
  // (holder, offender, height, round, vote type) already reported.
  std::set<std::tuple<NodeId, NodeId, std::int64_t, std::int64_t, std::uint16_t>> reported_;
};

}  // namespace

std::unique_ptr<BftConsensus> make_bft(const BftOptions& o, ChainContext& ctx) {
  return std::make_unique<Bft>(o, ctx);
}

namespace {
// With every validator Byzantine there is no honest behaviour to measure: an error, not a run.
void reject_all_byzantine(const scenario::ParamView& p, const std::vector<NodeId>& byzantine,
                          std::uint32_t validators) {
  if (std::set<NodeId>(byzantine.begin(), byzantine.end()).size() == validators)
    p.fail("byzantine", "lists every one of the " + std::to_string(validators) +
                            " validators: with no honest validator there is nothing to measure");
}
}  // namespace

// A height takes at least timeout_commit plus three one-way delays (proposal, prevote,
// precommit), each at least the smallest mean link latency. With both 0 (e.g. a single region
// with latency = "0s" and timeout_commit = "0s") heights follow each other at one simulated
// instant and the run never ends; with both tiny it has more heights than any run can hold.
// Bounded like the other engines' block rates (at most 1e7 heights per run).
namespace {
void check_heights_per_run(const scenario::ParamView& p, const BftOptions& o,
                           const ChainContext& ctx) {
  constexpr double kMaxHeights = 1e7;
  const double min_latency_ms = min_link_latency_ms(ctx.net);
  if (!std::isfinite(min_latency_ms)) return;  // no links: nothing is ever delivered anyway
  const double height_s = o.timeout_commit.seconds() + 3.0 * min_latency_ms * 1e-3;
  const double heights = ctx.duration.seconds() / height_s;
  if (height_s <= 0)
    p.fail("timeout_commit",
           fmt::format("= {} with a smallest link latency of 0 ms: BFT heights would follow each "
                       "other at one simulated instant forever; give timeout_commit > 0 or the "
                       "network a latency",
                       core::to_string(o.timeout_commit)));
  if (heights > kMaxHeights)
    p.fail("timeout_commit",
           fmt::format("= {} with a smallest link latency of {:g} ms allows a height every {:.3g} "
                       "s (timeout_commit + 3 one-way delays), simulation.duration / that = "
                       "{:.3g} heights, more than the bound of {:.0g} per run",
                       core::to_string(o.timeout_commit), min_latency_ms, height_s, heights,
                       kMaxHeights));
}
}  // namespace

void register_bft(ConsensusRegistry& r) {
  r.add({"bft",
         "Tendermint/CometBFT: propose, prevote, precommit with > 2/3 of the voting power, "
         "growing round timeouts (Buchman, Kwon & Milosevic 2018)",
         {{"timeout_propose", "duration", "3s", "s", "propose step timeout in round 0"},
          {"timeout_prevote", "duration", "1s", "s", "wait after > 2/3 prevotes of any value"},
          {"timeout_precommit", "duration", "1s", "s", "wait after > 2/3 precommits of any value"},
          {"timeout_delta", "duration", "500ms", "s", "added to each timeout per round"},
          {"timeout_commit", "duration", "1s", "s", "pause after a commit before the next height"},
          {"rebroadcast", "duration", "5s", "s", "re-send current votes after this long stuck"},
          {"voting_power", "list<int>", "[] (1 each)", "", "voting power per validator"},
          {"byzantine", "list<int>", "[]", "", "ids of equivocating validators"},
          {"relay_votes", "bool", "false", "",
           "honest validators forward each vote they first receive to all others (vote "
           "gossip; conflicting votes then meet: duplicate-vote evidence)"},
          {"vote_bytes", "size", "160", "bytes", "size of a signed vote"},
          {"proposal_overhead", "size", "200", "bytes", "proposal size beyond the block"}}},
        [](const scenario::ParamView& p, ChainContext& ctx) {
          BftOptions o;
          using B = scenario::Bounds;
          const B pos{0.0, std::nullopt, true, false};
          o.timeout_propose = p.duration("timeout_propose", o.timeout_propose, pos);
          o.timeout_prevote = p.duration("timeout_prevote", o.timeout_prevote, pos);
          o.timeout_precommit = p.duration("timeout_precommit", o.timeout_precommit, pos);
          o.timeout_delta = p.duration("timeout_delta", o.timeout_delta);
          o.timeout_commit = p.duration("timeout_commit", o.timeout_commit);
          o.rebroadcast = p.duration("rebroadcast", o.rebroadcast, pos);
          o.voting_power =
              p.integer_list("voting_power", std::vector<std::int64_t>{}, B::at_least(1));
          for (auto b : p.integer_list("byzantine", std::vector<std::int64_t>{},
                                       B::between(0, ctx.net.validators() - 1.0)))
            o.byzantine.push_back(static_cast<NodeId>(b));
          reject_all_byzantine(p, o.byzantine, ctx.net.validators());
          o.relay_votes = p.boolean("relay_votes", false);
          o.vote_bytes = p.size("vote_bytes", 160);
          o.proposal_overhead = p.size("proposal_overhead", 200);
          try {
            o.validate(ctx.net.validators());
          } catch (const std::invalid_argument& e) {
            p.fail("voting_power", e.what());
          }
          check_heights_per_run(p, o, ctx);
          return std::unique_ptr<Consensus>(make_bft(o, ctx));
        });
}

}  // namespace ledgerfl::chain
