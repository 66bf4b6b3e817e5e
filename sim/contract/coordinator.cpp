// The `contract` coordinator (see coordinator.hpp and contract.hpp for the round's lifecycle).
//
// Who does what:
//  - the LearningContract is the on-chain state machine; this file executes it on every
//    finalized block (in height order) and reacts to its events;
//  - the Learner trains, aggregates and evaluates (one parallel batch per round, all
//    participants start from the same model version);
//  - the simulated network carries the model download (attached validator -> client), the
//    update upload (client -> attached validator), the off-chain replication (validator ->
//    replicas - 1 other validators) and the committee's fetches (a live holder -> member);
//  - every contract call is a ledger transaction (gas and bytes from the gas schedule) that
//    waits in the mempool until a block includes it, and acts when that block is final.
//
// Simplifications (documented in sim/contract/README.md): validators' own stake is fixed at
// genesis; the server optimizer applies the finalized aggregate (the chain records its hash);
// the utility of the contribution scores evaluates global + aggregate(S) on a validation
// sample of the clients' union (rounds.train_eval_samples) held by the validators.
#include "sim/contract/coordinator.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include <fmt/core.h>

#include "models/data/dataset.hpp"
#include "sim/agents/device.hpp"
#include "sim/chain/bft.hpp"
#include "sim/chain/simulation.hpp"
#include "sim/contract/contract.hpp"
#include "sim/economy/summary.hpp"
#include "sim/fl/adversary.hpp"
#include "sim/fl/server.hpp"

namespace ledgerfl::contract {

using core::SimTime;
using scenario::Bounds;
using scenario::ParamView;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

enum AppMsg : std::uint16_t {
  kDownload = chain::ChainSimulation::kAppMessages,  // a = client, b = round
  kUpload,                                           // a = client, b = round
  kReplica,                                          // a = client, b = round
  kFetch,                                            // a = client, b = round, c = member
};

enum class Role : std::uint8_t { kHonest = 0, kLazy = 1, kMalicious = 2 };
std::string_view role_name(Role r) {
  return r == Role::kHonest ? "honest" : r == Role::kLazy ? "lazy" : "malicious";
}

struct ScriptedProposal {
  std::int64_t round = 1;  // submitted when this round opens
  std::string key, value;
  std::int64_t voting_rounds = 2;
  double yes_fraction = 1.0;  // of the bonded clients, who vote yes (the rest vote no)
  double turnout = 1.0;       // of the bonded clients, who vote at all
};

struct Options {
  bool onchain = false;
  std::size_t replicas = 2;  // validators holding each off-chain update
  std::unique_ptr<agents::Distribution> stake;
  Amount validator_stake = 10'000;
  Amount requester_balance = 0;
  double leave_after_submit = 0.0;   // a client goes offline after submitting (off-chain
                                     // availability); keyed draw per (client, round)
  double validator_flops = 1e11;     // a committee member's aggregation speed (FLOP/s)
  std::int64_t gas_price = 20;       // fee per gas of contract transactions (mempool priority)
  bool record_updates = false;       // write every included update's bytes to /contract/updates
  std::vector<Role> roles;           // per validator
  std::vector<std::uint8_t> censor;  // per validator: leaves out censored submissions
  std::vector<std::uint8_t> censored_client;  // per client: its submissions are censored
  std::vector<std::uint8_t> equivocating;     // per validator: made byzantine in the BFT engine
  // validation = "vote" (VBFL, Chen et al. 2021; BlockDFL, Qin et al. 2024): each committee
  // member votes accept/reject on every included update from its own held-out rows.
  bool validation_vote = false;
  double validation_threshold = 0.5;          // accept share of the committee's votes needed
  double validation_tolerance = 0.02;         // accept if acc(global + delta) >= acc(global) - this
  std::size_t validation_vote_samples = 500;  // rows per committee member
  std::unique_ptr<economy::ContributionScore> score;
  std::vector<ScriptedProposal> proposals;
  // Sybil economics: [[attack]] k's stake_budget (-1 = none); its identities share it at
  // genesis, floor(budget / identities) each, instead of drawing contract.stake.
  std::vector<Amount> stake_budget;
};

// One participant's round.
struct Participant {
  Account client = 0;
  std::size_t slot = static_cast<std::size_t>(-1);  // in the learner's batch; -1 = not training
  bool offline = false, crashed = false, submitted = false, included = false;
  bool available = true, departed = false;
  bool rejected = false;  // validation = "vote": the committee's vote left it out
  double t_download = kNaN, t_trained = kNaN, t_uploaded = kNaN, t_executed = kNaN;
  Hash commitment{};
  Hash tx_hash{};                    // of its submit_update transaction
  std::vector<net::NodeId> holders;  // validators holding the update (off-chain)
  double score = kNaN;
};

class ValidationUtility final : public economy::Utility {
 public:
  ValidationUtility(fl::Learner& L, const data::Dataset& set, std::span<const std::size_t> slots,
                    std::span<const double> weights)
      : L_(L), set_(set), slots_(slots), weights_(weights) {}
  double operator()(std::span<const std::size_t> subset) override {
    params_.assign(L_.global().begin(), L_.global().end());
    if (!subset.empty()) {
      std::vector<std::size_t> s;
      std::vector<double> w;
      for (std::size_t i : subset) {
        s.push_back(slots_[i]);
        w.push_back(weights_[i]);
      }
      L_.aggregate_slots(s, w, agg_);
      for (std::size_t k = 0; k < params_.size(); ++k) params_[k] += agg_[k];
    }
    const nn::EvalResult e = L_.evaluate(params_, set_);
    return e.count ? static_cast<double>(e.correct) / e.count : 0.0;
  }

 private:
  fl::Learner& L_;
  const data::Dataset& set_;
  std::span<const std::size_t> slots_;
  std::span<const double> weights_;
  std::vector<float> params_, agg_;
};

Hash hash_floats(std::span<const float> v) {
  return chain::sha256({reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * 4});
}

class ContractCoordinator final : public fl::Coordinator, public net::Receiver {
 public:
  ContractCoordinator(const ParamView& root, std::uint64_t seed,
                      std::shared_ptr<fl::Learner> learner, const ContractDeps& deps);
  std::string_view name() const override { return "contract"; }
  std::int64_t total_rounds() const override { return ro_.rounds; }
  void run(core::RunSink& sink) override;
  fl::MemoryEstimate memory() const override;
  void check_feasible(const ParamView& root) const override;
  std::vector<std::string> summary_lines() const override { return summary_; }
  fl::Learner& learner() override { return *L_; }

  // net::Receiver: application messages only (the chain's mux routes them here).
  bool on_gossip(net::NodeId, net::NodeId, net::GossipId, const net::Message&) override {
    return false;
  }
  void on_message(net::NodeId at, const net::Message& m) override;

 private:
  net::NodeId node_of(Account c) const { return static_cast<net::NodeId>(V_ + c); }
  net::NodeId attached(Account c) const;
  std::int64_t update_bytes() const { return static_cast<std::int64_t>(L_->num_params()) * 4; }
  void submit(const Call& call, OpCost cost);
  void on_block_final(std::uint32_t b);
  void execute(std::uint32_t b, bool erase_calls);
  void on_opened(const RoundOpened& e);
  void on_closed(const RoundClosed& e);
  void on_finalized(const RoundFinalized& f);
  void vote(Account member, const Hash& h);
  void write_round(const RoundFinalized& f);
  void finish_summary();

  std::shared_ptr<fl::Learner> L_;
  std::uint64_t seed_;
  fl::RoundOptions ro_;
  Options o_;
  GasSchedule gas_;
  std::unique_ptr<agents::Population> population_;
  std::unique_ptr<chain::ChainSimulation> chain_;
  std::unique_ptr<LearningContract> contract_;
  std::uint32_t V_ = 0;  // validators
  std::size_t N_ = 0;    // clients
  std::uint16_t kinds_[kOps] = {};
  std::vector<std::string> summary_;
  data::Dataset validation_;

  // Run state.
  core::RunSink* sink_ = nullptr;
  core::TableSink* clients_table_ = nullptr;
  bool done_ = false;
  std::uint64_t next_nonce_ = std::uint64_t{1} << 62;  // apart from the workload's nonces
  std::unordered_map<std::uint64_t, Call> calls_;      // pending contract calls by nonce
  std::int64_t round_ = 0;
  double t_open_ = 0, t_close_ = kNaN, t_last_vote_ = kNaN, t_prev_final_ = 0;
  std::vector<Participant> parts_;
  std::unordered_map<Account, std::size_t> part_of_;
  std::vector<Account> committee_;
  std::vector<std::uint8_t> voted_;  // per validator, this round
  std::map<net::NodeId, std::size_t> pending_fetch_;
  std::vector<float> aggregate_;
  std::vector<std::size_t> attacker_ids_;  // client ids of the attack identities
  std::vector<Amount> genesis_balance_;    // per client: its drawn stake
  double attacker_roi_ = 0.0;
  Hash honest_hash_{};
  bool have_first_vote_ = false;
  Hash first_vote_{};
  std::int64_t gas_by_op_[kOps] = {};
  std::int64_t bytes_onchain_ = 0, bytes_offchain_ = 0, score_evals_ = 0;
  std::int64_t wrong_results_ = 0;
  std::uint32_t blocks_at_open_ = 1;            // genesis is no round's
  std::vector<Amount> reward_sum_, slash_sum_;  // per account, over the run
  std::chrono::steady_clock::time_point wall0_;
  double sha_seconds_ = 0, sha_bytes_ = 0;     // wall clock of the commitments (not a result)
  core::TableSink* commit_table_ = nullptr;    // /contract/commitments
  core::TableSink* update_table_ = nullptr;    // /contract/updates (record_updates)
  core::TableSink* state_table_ = nullptr;     // /contract/state
  core::TableSink* evidence_table_ = nullptr;  // /contract/evidence (with a BFT consensus)
  std::int64_t commit_rows_ = 0;
  std::uint32_t state_written_ = 1;  // blocks whose app state is recorded (genesis: none)
  std::unordered_map<std::uint64_t, Hash> tx_hash_of_;  // pending submissions: nonce -> tx hash
  std::unordered_set<std::uint64_t> censored_seen_;     // submissions a censor left out (nonces)
  std::int64_t censored_round_ = 0;                     // first left out in this round's row
  bool censors(std::uint32_t proposer, const chain::Transaction& tx);
  // Equivocation: duplicate-vote evidence from the BFT engine, one evidence transaction per
  // (offender, height), sent by the first honest holder.
  chain::BftConsensus* bft_ = nullptr;
  std::set<std::pair<net::NodeId, std::int64_t>> evidence_sent_;
  std::int64_t evidence_round_ = 0;  // evidence transactions submitted for this round's row
  void on_evidence(const chain::DuplicateVoteEvidence& e);
  // Validation vote: each member's held-out rows (a keyed disjoint split of train_eval), this
  // round's counts and the members' validation compute time.
  std::vector<data::Dataset> member_rows_;
  std::int64_t val_evals_ = 0, val_rejected_ = 0, val_rejected_mal_ = 0, val_malicious_ = 0;
  double validate_s_ = 0;  // seconds an honest member spends validating this round
  std::vector<std::uint8_t> validation_vote(const RoundClosed& e,
                                            std::span<const std::size_t> avail_pos,
                                            std::span<const std::size_t> slots);
  void write_records();

  // ---- execute_on = "head" (optimistic execution with reverts; FLchain, Wilhelmi et al. 2022)
  // The contract executes each block when it joins the main chain. Before each executed block
  // the state it can change is kept (an Exec); a reorg restores the Exec of the first block that
  // left the main chain (the state after the common ancestor), and the new branch's blocks then
  // execute in order. An Exec is dropped when its block is final, so memory follows the
  // unfinalized depth. Off-chain facts (who downloaded, trained, uploaded, which validators
  // hold an update, who sent a vote) are not reverted: they happened. A round opening (an
  // "instance": its participants, their training) that a reorg orphans is dead for good; its
  // trained updates are counted as wasted; a reopening of the round is a new instance.
  bool head_ = false;
  std::int64_t inst_ = 0, next_inst_ = 0;  // the current round instance (== round_ under final)
  std::int64_t close_seq_ = 0;             // closings so far
  std::int64_t close_tag_ = -1;    // the instance's closing (close_seq_ then; -1: not closed):
                                   // tags fetches and vote timers (== round_ under final)
  Hash open_ref_{}, close_ref_{};  // the blocks that opened and closed the instance
  std::vector<fl::Task> tasks_;    // head: the instance's training tasks (to retrain)
  std::int64_t trained_inst_ = 0;  // the instance whose deltas the learner's slots hold
  std::uint32_t exec_block_ = 0;   // the block being executed
  // The per-instance state of the coordinator (what on_opened resets).
  struct RoundState {
    std::int64_t inst = 0, round = 0, close_tag = -1;
    double t_open = 0, t_close = kNaN, t_last_vote = kNaN;
    std::vector<Participant> parts;
    std::unordered_map<Account, std::size_t> part_of;
    std::vector<Account> committee;
    std::vector<std::uint8_t> voted;
    std::map<net::NodeId, std::size_t> pending_fetch;
    std::vector<float> aggregate;  // only in frozen instances (not in the per-block copies)
    std::vector<fl::Task> tasks;   // idem
    Hash honest_hash{}, first_vote{}, open_ref{}, close_ref{};
    bool have_first_vote = false;
    std::int64_t score_evals = 0, val_evals = 0, val_rejected = 0, val_rejected_mal = 0,
                 val_malicious = 0;
    double validate_s = 0;
    std::chrono::steady_clock::time_point wall0;
  };
  RoundState save_round(bool bulk);  // bulk: move the aggregate and tasks out
  void load_round(RoundState&& r);
  // The state before an executed, not yet final, main-chain block.
  struct Exec {
    std::uint32_t block = 0;
    std::unique_ptr<LearningContract> contract;
    fl::Learner::GlobalState global;
    RoundState round;
    std::int64_t gas_by_op[kOps] = {};
    std::int64_t bytes_onchain = 0, wrong_results = 0;
    double t_prev_final = 0;
    std::vector<Amount> reward_sum, slash_sum;
    std::uint32_t done_block = chain::kNoBlock;
  };
  std::deque<Exec> executed_;                  // in height order, above the last final block
  std::map<std::int64_t, RoundState> frozen_;  // earlier instances a revert may return to
  bool revert_pending_ = false;
  Exec revert_to_;
  std::uint32_t done_block_ = chain::kNoBlock;  // the block that finalized the last round
  // /contract/commitments rows wait for their closing block to be final (block, row).
  std::vector<std::pair<std::uint32_t, std::vector<core::Cell>>> pending_commits_;
  std::int64_t reverted_row_ = 0, wasted_row_ = 0;  // since the previous /rounds row
  std::int64_t reverted_total_ = 0, wasted_total_ = 0, reverts_ = 0, reverted_blocks_ = 0;
  std::int64_t retrains_ = 0;
  core::TableSink* openings_table_ = nullptr;   // /contract/openings
  std::optional<core::RoundSummary> held_row_;  // the last round's row, until it is final
  void emit_held_row(bool at_end);
  void on_main_head(std::uint32_t b, bool on);
  void on_final_head(std::uint32_t b);
  void apply_revert();
  void ensure_trained();
};

net::NodeId ContractCoordinator::attached(Account c) const {
  for (net::NodeId v : chain_->network().neighbours(node_of(c)))
    if (v < V_) return v;
  return static_cast<net::NodeId>(c % V_);
}

// ------------------------------------------------------------------------------------- building
ContractCoordinator::ContractCoordinator(const ParamView& root, std::uint64_t seed,
                                         std::shared_ptr<fl::Learner> learner,
                                         const ContractDeps& deps)
    : L_(std::move(learner)), seed_(seed) {
  N_ = L_->num_clients();
  ro_ = fl::read_round_options(root, N_, L_->local());
  const ParamView rp = root.table("rounds");
  if (ro_.mode != fl::RoundOptions::Mode::kSync)
    rp.fail("mode",
            "= \"async\": the contract runs synchronous rounds (one round open at a "
            "time); use coordinator.type = \"server\" for FedBuff");
  if (ro_.partial_work || ro_.fedprox_stragglers)
    rp.fail("stragglers",
            "the contract drops updates that miss the deadline (\"drop\"); "
            "\"partial\" and \"fedprox\" are server-coordinator options");
  population_ = std::make_unique<agents::Population>(
      N_, seed, agents::read_device_options(root.table("devices"), deps.distributions));

  const ParamView cp = root.table("contract");
  static constexpr std::string_view kStorage[] = {"offchain", "onchain"};
  o_.onchain = cp.choice("storage", kStorage, "offchain") == "onchain";
  static constexpr std::string_view kExecute[] = {"final", "head"};
  head_ = cp.choice("execute_on", kExecute, "final") == "head";
  if (head_) {
    // What a revert could not restore is refused rather than silently wrong.
    if (L_->adversary())
      cp.fail("execute_on",
              "= \"head\" does not run with [[attack]] tables (attacks keep state across rounds "
              "that a reorg would not revert); use \"final\"");
    const ParamView sv = root.table("server");
    if (sv.has("type") && sv.string("type", "sgd") != "sgd")
      cp.fail("execute_on",
              "= \"head\" needs server.type = \"sgd\" (a stateful server optimizer's moments "
              "are not reverted on a reorg); got \"" +
                  sv.string("type", "sgd") + "\"");
  }
  ContractParams P;
  P.head = head_;
  P.clients = N_;
  P.rounds = ro_.rounds;
  P.per_round = ro_.per_round;
  P.over_selection = ro_.over_selection;
  P.deadline = ro_.deadline;
  P.vote_timeout = cp.duration("vote_timeout", SimTime::s(600), Bounds::positive());
  P.min_stake = cp.integer("min_stake", 100, Bounds::at_least(0));
  o_.stake = agents::read_distribution(deps.distributions, cp, "stake", agents::ValueKind::kNumber,
                                       std::to_string(P.min_stake));
  o_.validator_stake = cp.integer("validator_stake", 10'000, Bounds::at_least(1));
  P.committee = static_cast<std::size_t>(cp.integer("committee", 0, Bounds::at_least(0)));
  P.quorum = cp.number("quorum", 2.0 / 3.0, Bounds::between(0.5, 1.0));
  if (P.quorum >= 1.0) cp.fail("quorum", "must be < 1 (strictly more than quorum x stake votes)");
  P.unbonding_rounds = cp.integer("unbonding_rounds", 2, Bounds::at_least(0));
  P.slash_dissent = cp.number("slash_dissent", 0.1, Bounds::between(0.0, 1.0));
  P.slash_unavailable = cp.number("slash_unavailable", 0.1, Bounds::between(0.0, 1.0));
  static constexpr std::string_view kSlashTo[] = {"burn", "treasury"};
  P.slash_to = cp.choice("slash_to", kSlashTo, "burn") == "burn" ? economy::SlashTo::kBurn
                                                                 : economy::SlashTo::kTreasury;
  o_.replicas = static_cast<std::size_t>(cp.integer("replicas", 2, Bounds::at_least(1)));
  o_.leave_after_submit = cp.number("leave_after_submit", 0.0, Bounds::between(0.0, 1.0));
  o_.validator_flops = cp.number("validator_flops", 1e11, Bounds::positive());
  o_.gas_price = cp.integer("gas_price", 20, Bounds::at_least(0));
  o_.record_updates = cp.boolean("record_updates", false);
  if (head_ && o_.record_updates)
    cp.fail("record_updates", "is not available with execute_on = \"head\"");
  gas_ = read_gas_schedule(cp.table("gas"));

  const ParamView rw = cp.table("rewards");
  P.reward_per_round = rw.integer("per_round", 1000, Bounds::at_least(0));
  P.reward_decay = rw.number("decay", 0.0, {0.0, 1.0, true, false});
  P.task_fee = rw.integer("task_fee", 0, Bounds::at_least(0));
  P.validator_share = rw.number("validator_share", 0.1, Bounds::between(0.0, 1.0));
  o_.requester_balance =
      rw.integer("requester_balance", P.task_fee * ro_.rounds, Bounds::at_least(0));
  o_.score = deps.economy.scores.get(rw, "score", "accepted").factory(rw);
  const ParamView sel = cp.table("selection");
  auto selection = deps.economy.selection.get(sel, "type", "uniform").factory(sel);
  const ParamView rep = cp.table("reputation");
  auto reputation = deps.economy.reputation.get(rep, "type", "beta").factory(rep);
  P.gov_quorum = cp.table("governance").number("quorum", 0.33, Bounds::between(0.0, 1.0));
  for (const ParamView& pp : cp.table_array("proposal")) {
    ScriptedProposal s;
    s.round = pp.integer("round", 1, Bounds::between(1, static_cast<double>(ro_.rounds)));
    static constexpr std::string_view kKeys[] = {"min_stake", "reward_per_round", "quorum"};
    s.key = pp.choice("key", kKeys, std::nullopt);
    s.value = pp.string("value", std::nullopt);
    try {
      const double v = std::stod(s.value);
      if (s.key == "quorum" && !(v >= 0.5 && v < 1.0)) throw std::invalid_argument("range");
      if (s.key != "quorum" && v < 0) throw std::invalid_argument("range");
    } catch (const std::exception&) {
      pp.fail("value", "= \"" + s.value + "\" is not a valid " + s.key +
                           (s.key == "quorum" ? " (a number in [0.5, 1))" : " (an integer >= 0)"));
    }
    s.voting_rounds = pp.integer("voting_rounds", 2, Bounds::at_least(1));
    s.yes_fraction = pp.number("yes_fraction", 1.0, Bounds::between(0.0, 1.0));
    s.turnout = pp.number("turnout", 1.0, Bounds::between(0.0, 1.0));
    o_.proposals.push_back(std::move(s));
  }
  if (head_ && !o_.proposals.empty())
    cp.fail("proposal",
            "scripted proposals are not available with execute_on = \"head\" (a reorg would "
            "re-submit them)");

  chain::ChainSimulation::AppNodes app;
  app.clients = static_cast<std::uint32_t>(N_);
  app.default_duration = SimTime::s(30 * 24 * 3600);
  chain_ = chain::ChainSimulation::build(root, seed, deps.net, deps.chain, app);
  V_ = chain_->network().validators();
  P.validators = V_;
  if (P.committee > V_)
    cp.fail("committee", fmt::format("= {} exceeds the {} validators", P.committee, V_));
  o_.roles.assign(V_, Role::kHonest);
  auto roles = [&](const char* key, Role r) {
    for (std::int64_t v : cp.integer_list(key, std::vector<std::int64_t>{}, Bounds::at_least(0))) {
      if (v >= static_cast<std::int64_t>(V_))
        cp.fail(key,
                fmt::format("names validator {}, but there are {} (ids 0..{})", v, V_, V_ - 1));
      o_.roles[static_cast<std::size_t>(v)] = r;
    }
  };
  roles("lazy_validators", Role::kLazy);
  roles("malicious_validators", Role::kMalicious);
  // Censoring proposers: a censor building a block leaves out the submit_update transactions
  // of the censored clients; they stay in the mempool for the next honest proposer.
  o_.censor.assign(V_, 0);
  for (std::int64_t v :
       cp.integer_list("censor_validators", std::vector<std::int64_t>{}, Bounds::at_least(0))) {
    if (v >= static_cast<std::int64_t>(V_))
      cp.fail("censor_validators",
              fmt::format("names validator {}, but there are {} (ids 0..{})", v, V_, V_ - 1));
    o_.censor[static_cast<std::size_t>(v)] = 1;
  }
  // Equivocating validators: byzantine in the BFT engine (chain.consensus.byzantine keeps
  // working; both lists together may not name every validator).
  o_.equivocating.assign(V_, 0);
  {
    const auto ids = cp.integer_list("equivocating_validators", std::vector<std::int64_t>{},
                                     Bounds::at_least(0));
    bft_ = dynamic_cast<chain::BftConsensus*>(&chain_->consensus());
    if (!ids.empty() && !bft_)
      cp.fail("equivocating_validators",
              fmt::format("needs chain.consensus.type = \"bft\" (double-signing is a signed BFT "
                          "vote); the consensus is \"{}\"",
                          chain_->consensus().name()));
    for (std::int64_t v : ids) {
      if (v >= static_cast<std::int64_t>(V_))
        cp.fail("equivocating_validators",
                fmt::format("names validator {}, but there are {} (ids 0..{})", v, V_, V_ - 1));
      o_.equivocating[static_cast<std::size_t>(v)] = 1;
      bft_->add_byzantine(static_cast<net::NodeId>(v));
    }
    // Equivocators' conflicting votes reach different honest validators; votes gossiped on
    // (CometBFT's reactor) let them meet, so their evidence is found at any height.
    if (!ids.empty()) bft_->set_relay_votes(true);
    if (bft_ && !ids.empty()) {
      std::size_t byz = 0;
      for (std::uint32_t v = 0; v < V_; ++v) byz += bft_->is_byzantine(v);
      if (byz == V_)
        cp.fail("equivocating_validators",
                fmt::format("with chain.consensus.byzantine makes every one of the {} validators "
                            "byzantine: with no honest validator there is nothing to measure",
                            V_));
    }
  }
  P.slash_equivocation = cp.number("slash_equivocation", 0.5, Bounds::probability());
  {
    static constexpr std::string_view kValidation[] = {"none", "vote"};
    o_.validation_vote = cp.choice("validation", kValidation, "none") == "vote";
    o_.validation_threshold = cp.number("validation_threshold", 0.5, Bounds::probability());
    o_.validation_tolerance = cp.number("validation_tolerance", 0.02, Bounds::probability());
    o_.validation_vote_samples =
        static_cast<std::size_t>(cp.integer("validation_vote_samples", 500, Bounds::at_least(1)));
  }
  // [[attack]] stake_budget: read here (the contract owns balances); the adversary reads the
  // tables' other keys. Table k is attack k.
  for (const ParamView& at : root.table_array("attack"))
    o_.stake_budget.push_back(
        at.has("stake_budget") ? at.integer("stake_budget", 0, Bounds::at_least(0)) : Amount{-1});
  o_.censored_client.assign(N_, 0);
  {
    const double frac = cp.number("censor_fraction", 0.2, Bounds::probability());
    std::string mode = "fraction";
    std::vector<std::int64_t> ids;
    if (cp.has("censor_clients")) {
      try {
        static constexpr std::string_view kCensor[] = {"attackers", "honest", "fraction"};
        mode = cp.choice("censor_clients", kCensor, "fraction");
      } catch (const scenario::InputError& not_a_mode) {
        // Not one of the names: a list of client ids, else both errors.
        try {
          ids = cp.integer_list("censor_clients", std::nullopt, Bounds::at_least(0));
        } catch (const scenario::InputError& not_a_list) {
          throw scenario::InputError(std::string(not_a_mode.what()) +
                                     "; or a list of client ids: " + not_a_list.what());
        }
        mode = "ids";
      }
    }
    if (mode == "ids") {
      for (std::int64_t c : ids) {
        if (c >= static_cast<std::int64_t>(N_))
          cp.fail("censor_clients",
                  fmt::format("names client {}, but there are {} (ids 0..{})", c, N_, N_ - 1));
        o_.censored_client[static_cast<std::size_t>(c)] = 1;
      }
    } else if (mode == "attackers" || mode == "honest") {
      const fl::Adversary* adv = L_->adversary();
      if (!adv && mode == "attackers")
        cp.fail("censor_clients", "= \"attackers\" but the scenario has no [[attack]]");
      for (std::size_t c = 0; c < N_; ++c) {
        const bool att = adv && adv->role(c) != 0;
        o_.censored_client[c] = (mode == "attackers") == att;
      }
    } else {
      // A keyed share of the clients: round(censor_fraction x clients), the first ones of a
      // keyed shuffle.
      std::vector<std::size_t> order(N_);
      for (std::size_t c = 0; c < N_; ++c) order[c] = c;
      core::Rng rng(seed, "contract.censor_clients", 0, 0);
      rng.shuffle(std::span<std::size_t>(order));
      const auto k = static_cast<std::size_t>(std::llround(frac * static_cast<double>(N_)));
      for (std::size_t i = 0; i < k && i < N_; ++i) o_.censored_client[order[i]] = 1;
    }
  }

  chain::Ledger& ledger = chain_->ledger();
  for (std::size_t k = 0; k < kOps; ++k)
    kinds_[k] = ledger.kinds.add(std::string(op_name(static_cast<Op>(k))));
  if (o_.onchain) {
    const OpCost c = submit_cost_bound(gas_, update_bytes(), true);
    const chain::BlockLimits& lim = ledger.limits();
    if (c.gas > lim.gas_limit || c.bytes > lim.max_bytes - lim.header_bytes)
      cp.fail("storage",
              fmt::format("= \"onchain\": an update of {} parameters ({} bytes) costs up to {} gas "
                          "and {} bytes, more than one block holds (chain.gas_limit = {}, "
                          "chain.max_block_bytes = {}); raise them or use \"offchain\"",
                          L_->num_params(), update_bytes(), c.gas, c.bytes, lim.gas_limit,
                          lim.max_bytes));
  }
  contract_ = std::make_unique<LearningContract>(std::move(P), std::move(selection),
                                                 std::move(reputation), seed);
  if (!L_->dry()) {
    // The validators' validation sample for the contribution scores: the first rows of the
    // learner's train_eval sample (at most contract.validation_samples).
    const auto want =
        static_cast<std::size_t>(cp.integer("validation_samples", 1000, Bounds::at_least(1)));
    const data::Dataset& te = L_->train_eval();
    const std::size_t n = std::min(want, te.size());
    validation_.name = "validation";
    validation_.num_classes = te.num_classes;
    validation_.features = te.features.topRows(static_cast<Eigen::Index>(n));
    validation_.labels.assign(te.labels.begin(), te.labels.begin() + static_cast<long>(n));
  } else {
    cp.integer("validation_samples", 1000, Bounds::at_least(1));
  }
  if (o_.score->needs_utility() && !L_->dry() && validation_.size() == 0)
    rw.fail("score", "needs a validation sample: rounds.train_eval_samples is 0");
  if (o_.validation_vote && !L_->dry()) {
    // Each member's held-out rows: block v of a keyed shuffle of the train_eval sample
    // (disjoint while V x validation_vote_samples <= its size; beyond that the blocks wrap).
    const data::Dataset& te = L_->train_eval();
    if (te.size() == 0)
      cp.fail("validation", "= \"vote\" needs held-out rows: rounds.train_eval_samples is 0");
    std::vector<std::size_t> order(te.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    core::Rng rng(seed, "contract.validation_split", 0, 0);
    rng.shuffle(std::span<std::size_t>(order));
    const std::size_t n = std::min(o_.validation_vote_samples, te.size());
    member_rows_.resize(V_);
    for (std::uint32_t v = 0; v < V_; ++v) {
      data::Dataset& d = member_rows_[v];
      d.name = fmt::format("validation_vote.{}", v);
      d.num_classes = te.num_classes;
      d.features.resize(static_cast<Eigen::Index>(n), te.features.cols());
      d.labels.resize(n);
      for (std::size_t j = 0; j < n; ++j) {
        const std::size_t row = order[(static_cast<std::size_t>(v) * n + j) % order.size()];
        d.features.row(static_cast<Eigen::Index>(j)) =
            te.features.row(static_cast<Eigen::Index>(row));
        d.labels[j] = te.labels[row];
      }
    }
  }
}

void ContractCoordinator::check_feasible(const ParamView& root) const {
  // The fastest possible client round must fit the deadline: one local step at the fastest
  // device; the network part is not bounded here (it depends on routes and load).
  const agents::DeviceOptions& d = population_->options();
  const double steps = L_->local().steps > 0 ? static_cast<double>(L_->local().steps) : 1.0;
  const double fastest =
      steps * L_->local().batch * L_->flops_per_sample() / d.flops->upper_bound();
  if (ro_.deadline.seconds() < fastest)
    root.table("rounds").fail(
        "deadline",
        fmt::format("= {} is shorter than one local step at the fastest device ({:.6g} s)",
                    core::to_string(ro_.deadline), fastest));
}

fl::MemoryEstimate ContractCoordinator::memory() const {
  fl::MemoryEstimate m = L_->memory(static_cast<std::uint64_t>(
      std::ceil(static_cast<double>(ro_.per_round) * (1.0 + ro_.over_selection))));
  // Per registered identity: token ledger (3 x 8 B), reputation (16 B), registration (1 B),
  // cumulative rewards and slashes (16 B); per participant the round state (~200 B).
  m.extra = static_cast<std::uint64_t>(N_ + V_ + 1) * 57 +
            static_cast<std::uint64_t>(ro_.per_round) * 200;
  // The chain's records grow with simulated time; the run ends with its last round, long before
  // the simulation.duration cap the chain estimate assumes, so that bound is named, not added.
  m.extra_what = "contract and economy state (the chain's records: at most " +
                 chain_->memory().summary() + " if the run lasted all of simulation.duration)";
  return m;
}

// ------------------------------------------------------------------------------------------ run
void ContractCoordinator::submit(const Call& call, OpCost cost) {
  chain::Transaction t;
  t.nonce = next_nonce_++;
  t.sender = call.sender;
  t.kind = kinds_[static_cast<std::size_t>(call.op)];
  t.fee = o_.gas_price;
  t.gas = cost.gas;
  t.size = cost.bytes;
  t.payload_hash = call_hash(call);
  t.created = chain_->engine().now();
  calls_.emplace(t.nonce, call);
  const std::uint32_t idx = chain_->ledger().submit(t);
  if (call.op == Op::kSubmit) tx_hash_of_[t.nonce] = chain_->ledger().txs[idx].hash;
}

bool ContractCoordinator::censors(std::uint32_t proposer, const chain::Transaction& tx) {
  if (proposer >= V_ || !o_.censor[proposer]) return false;
  if (tx.kind != kinds_[static_cast<std::size_t>(Op::kSubmit)]) return false;
  const auto it = calls_.find(tx.nonce);
  if (it == calls_.end() || it->second.sender >= N_ || !o_.censored_client[it->second.sender])
    return false;
  if (censored_seen_.insert(tx.nonce).second) ++censored_round_;
  return true;
}

void ContractCoordinator::on_evidence(const chain::DuplicateVoteEvidence& e) {
  if (done_ || e.holder >= V_ || e.offender >= V_) return;
  if (!evidence_sent_.insert({e.offender, e.height}).second) return;  // another holder sent it
  Call call;
  call.op = Op::kEvidence;
  call.sender = contract_->validator_account(e.holder);
  call.round = round_;
  call.offender = contract_->validator_account(e.offender);
  call.height = e.height;
  ++evidence_round_;
  submit(call, evidence_cost(gas_));
  if (evidence_table_)
    evidence_table_->append(std::vector<core::Cell>{
        core::Cell{round_}, core::Cell{static_cast<std::int64_t>(e.offender)},
        core::Cell{static_cast<std::int64_t>(e.holder)}, core::Cell{e.height}, core::Cell{e.round},
        core::Cell{static_cast<std::int64_t>(e.kind == chain::kMsgPrevote ? 0 : 1)}});
}

void ContractCoordinator::on_message(net::NodeId at, const net::Message& m) {
  const auto c = static_cast<Account>(m.a);
  // A previous round's traffic (an earlier instance's, or an earlier closing's fetches). Under
  // "final" both tags are the round number.
  if (static_cast<std::int64_t>(m.b) != (m.kind == kFetch ? close_tag_ : inst_)) return;
  const auto it = part_of_.find(c);
  if (it == part_of_.end()) return;
  Participant& p = parts_[it->second];
  core::Engine& engine = chain_->engine();
  const double now = engine.now().seconds();
  switch (m.kind) {
    case kDownload: {
      p.t_download = now;
      const agents::DeviceProfile d = population_->profile(c);
      const fl::LocalOptions& lo = L_->local();
      const double examples = lo.steps > 0 ? static_cast<double>(lo.steps * lo.batch)
                                           : static_cast<double>(L_->client_size(c)) * lo.epochs;
      const double train_s = examples * L_->flops_per_sample() / d.flops;
      const std::int64_t r = inst_;
      engine.schedule_in(SimTime::from_seconds(train_s), [this, c, r] {
        if (r != inst_) return;
        Participant& q = parts_[part_of_.at(c)];
        q.t_trained = chain_->engine().now().seconds();
        net::Message up{
            kUpload, false, node_of(c), update_bytes(), c, static_cast<std::uint64_t>(r), 0};
        if (o_.onchain) up.bytes = submit_cost_bound(gas_, update_bytes(), true).bytes;
        chain_->network().send(node_of(c), attached(c), up);
      });
      return;
    }
    case kUpload: {
      p.t_uploaded = now;
      Call call;
      call.op = Op::kSubmit;
      call.sender = c;
      call.round = round_;
      call.commitment = p.commitment;
      call.samples = static_cast<std::int64_t>(L_->client_size(c));
      if (head_) call.ref = open_ref_;
      if (o_.onchain) {
        if (head_) ensure_trained();
        const std::span<const float> d = L_->delta(p.slot);
        submit(call,
               submit_cost(gas_, {reinterpret_cast<const std::uint8_t*>(d.data()), d.size() * 4},
                           true));
      } else {
        bytes_offchain_ += update_bytes();
        p.holders.push_back(at);
        for (std::size_t k = 1; k < o_.replicas && k < V_; ++k) {
          const auto to = static_cast<net::NodeId>((at + k) % V_);
          chain_->network().send(at, to, {kReplica, false, at, update_bytes(), c, m.b, 0});
        }
        submit(call, submit_cost(gas_, {}, false));
        core::Rng leave(seed_, "contract.leave", c, static_cast<std::uint64_t>(round_));
        p.departed = leave.bernoulli(o_.leave_after_submit);
      }
      return;
    }
    case kReplica:
      bytes_offchain_ += update_bytes();
      p.holders.push_back(at);
      return;
    case kFetch: {
      bytes_offchain_ += update_bytes();
      auto f = pending_fetch_.find(at);
      if (f == pending_fetch_.end() || f->second == 0) return;
      if (--f->second == 0) {
        const double n = static_cast<double>(std::count_if(
            parts_.begin(), parts_.end(), [](const Participant& q) { return q.included; }));
        const double secs =
            validate_s_ + n * static_cast<double>(L_->num_params()) * 2.0 / o_.validator_flops;
        const Account member = contract_->validator_account(at);
        engine.schedule_in(SimTime::from_seconds(secs), [this, member, r = close_tag_] {
          if (r == close_tag_) vote(member, honest_hash_);
        });
      }
      return;
    }
    default:
      return;
  }
}

void ContractCoordinator::vote(Account member, const Hash& h) {
  const std::size_t v = member - N_;
  if (voted_[v] || !chain_->network().is_up(static_cast<net::NodeId>(v))) return;
  voted_[v] = 1;
  Call call;
  call.op = Op::kVote;
  call.sender = member;
  call.round = round_;
  call.commitment = h;
  if (head_) call.ref = close_ref_;
  t_last_vote_ = chain_->engine().now().seconds();
  submit(call, vote_cost(gas_));
}

void ContractCoordinator::on_block_final(std::uint32_t b) {
  if (b == 0 || done_) return;
  execute(b, /*erase_calls=*/true);
}

void ContractCoordinator::execute(std::uint32_t b, bool erase_calls) {
  exec_block_ = b;
  const chain::Block& blk = chain_->ledger().tree.at(b);
  const double now = chain_->engine().now().seconds();
  std::vector<const Call*> calls;
  std::vector<std::uint64_t> nonces;
  for (std::uint32_t t : blk.txs) {
    const chain::Transaction& tx = chain_->ledger().txs[t];
    const auto it = calls_.find(tx.nonce);
    if (it == calls_.end()) continue;
    const Call& c = it->second;
    calls.push_back(&c);
    nonces.push_back(tx.nonce);
    gas_by_op_[static_cast<std::size_t>(c.op)] += tx.gas;
    bytes_onchain_ += tx.size;
    if (c.op == Op::kSubmit && c.round == round_ && (!head_ || c.ref == open_ref_)) {
      if (auto p = part_of_.find(c.sender); p != part_of_.end() && !parts_[p->second].submitted) {
        parts_[p->second].submitted = true;
        parts_[p->second].t_executed = now;
        parts_[p->second].tx_hash = tx.hash;
      }
    }
    tx_hash_of_.erase(tx.nonce);
    if (c.op == Op::kVote && c.round == round_ && !have_first_vote_ &&
        (!head_ || c.ref == close_ref_)) {
      have_first_vote_ = true;
      first_vote_ = c.commitment;
    }
  }
  contract_->execute_block(blk.hash, SimTime::ns(blk.header.timestamp_ns), calls);
  // Under "head" a call stays known until its block is final: a reorg can execute it again.
  if (erase_calls)
    for (std::uint64_t n : nonces) calls_.erase(n);
  // Lazy committee members vote without fetching: they copy the first vote they see on-chain.
  if (have_first_vote_ && !committee_.empty())
    for (Account m : committee_)
      if (o_.roles[m - N_] == Role::kLazy) vote(m, first_vote_);
}

void ContractCoordinator::on_opened(const RoundOpened& e) {
  core::Engine& engine = chain_->engine();
  // The previous instance is kept (frozen) while a revert may return to it.
  if (head_) frozen_[inst_] = save_round(/*bulk=*/true);
  inst_ = ++next_inst_;
  close_tag_ = -1;
  open_ref_ = e.randomness;
  round_ = e.round;
  t_open_ = engine.now().seconds();
  t_close_ = t_last_vote_ = kNaN;
  parts_.clear();
  part_of_.clear();
  committee_.clear();
  pending_fetch_.clear();
  voted_.assign(V_, 0);
  have_first_vote_ = false;
  score_evals_ = 0;
  wall0_ = std::chrono::steady_clock::now();
  // Training: every selected, online, non-crashing participant, from the current version, in
  // one parallel batch; each task hashes its own update (SHA-256 of the little-endian float32
  // bytes) in its body, while the delta is in cache.
  std::vector<fl::Task> tasks;
  for (Account c : e.participants) {
    Participant p;
    p.client = c;
    if (!population_->online(c, round_))
      p.offline = true;
    else if (population_->crashes(c, round_))
      p.crashed = true;
    else {
      p.slot = tasks.size();
      tasks.push_back({c, static_cast<std::uint64_t>(round_), round_, L_->version(), L_->snapshot(),
                       0.0, 0, 0});
    }
    part_of_[c] = parts_.size();
    parts_.push_back(std::move(p));
  }
  std::vector<Hash> commitments(tasks.size());
  std::vector<double> hash_s(tasks.size());  // per slot: no shared counter in the tasks
  std::vector<std::unique_ptr<chain::Sha256Stream>> streams(tasks.size());
  for (auto& st : streams) st = std::make_unique<chain::Sha256Stream>();
  L_->train(
      tasks,
      [&](std::size_t i, std::span<const float>) {
        const auto w0 = std::chrono::steady_clock::now();
        commitments[i] = streams[i]->digest();
        hash_s[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
      },
      [&](std::size_t i, std::span<const float> chunk) {
        const auto w0 = std::chrono::steady_clock::now();
        streams[i]->update({reinterpret_cast<const std::uint8_t*>(chunk.data()), chunk.size() * 4});
        hash_s[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
      });
  // Updates the attacks' commit phase rewrote after the in-task hashing: hashed again.
  for (std::size_t i : L_->rewritten()) {
    const auto w0 = std::chrono::steady_clock::now();
    commitments[i] = hash_floats(L_->delta(i));
    sha_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  }
  for (double x : hash_s) sha_seconds_ += x;
  sha_bytes_ += static_cast<double>(tasks.size()) * static_cast<double>(update_bytes());
  trained_inst_ = inst_;
  if (head_) {
    openings_table_->append(
        std::vector<core::Cell>{core::Cell{round_}, core::Cell{inst_}, core::Cell{e.randomness},
                                core::Cell{static_cast<std::int64_t>(parts_.size())},
                                core::Cell{static_cast<std::int64_t>(tasks.size())}});
    tasks_ = std::move(tasks);
  }
  for (Participant& p : parts_) {
    if (p.slot == static_cast<std::size_t>(-1)) continue;
    p.commitment = commitments[p.slot];
    chain_->network().send(attached(p.client), node_of(p.client),
                           {kDownload, false, attached(p.client), update_bytes(), p.client,
                            static_cast<std::uint64_t>(inst_), 0});
  }
  // Scripted governance: the proposal is submitted when its round opens; the bonded clients
  // vote in the same round (keyed draws for turnout and choice).
  for (const ScriptedProposal& s : o_.proposals) {
    if (s.round != round_) continue;
    Call prop;
    prop.op = Op::kPropose;
    prop.sender = contract_->requester();
    prop.round = round_;
    prop.key = s.key;
    prop.value = s.value;
    prop.voting_rounds = s.voting_rounds;
    submit(prop, propose_cost(gas_));
    // Its id once executed: proposals are numbered in execution order, and every pending
    // proposal (this one included) executes before any later one.
    const std::uint64_t id =
        contract_->governance().proposals().size() +
        static_cast<std::uint64_t>(std::count_if(calls_.begin(), calls_.end(), [](const auto& kv) {
          return kv.second.op == Op::kPropose;
        }));
    for (std::size_t c = 0; c < N_; ++c) {
      if (!contract_->registered(static_cast<Account>(c))) continue;
      core::Rng rng(seed_, "contract.gov_vote", c, id);
      if (!rng.bernoulli(s.turnout)) continue;
      Call v;
      v.op = Op::kGovVote;
      v.sender = static_cast<Account>(c);
      v.round = round_;
      v.proposal = id;
      v.yes = rng.bernoulli(s.yes_fraction);
      submit(v, gov_vote_cost(gas_));
    }
  }
}

void ContractCoordinator::on_closed(const RoundClosed& e) {
  core::Engine& engine = chain_->engine();
  if (head_) ensure_trained();
  close_tag_ = ++close_seq_;
  close_ref_ = e.closing_block;
  voted_.assign(V_, 0);  // a closing (again, after a revert) asks every member anew
  pending_fetch_.clear();
  t_close_ = engine.now().seconds();
  committee_ = e.committee;
  // The committee's honest computation, done once: which committed updates can be fetched,
  // their aggregate, its hash and the contribution scores.
  RoundReport rep;
  rep.included = e.included;
  std::vector<std::size_t> slots;
  std::vector<double> weights;
  std::vector<std::size_t> avail_pos;
  for (Account c : e.included) {
    Participant& p = parts_[part_of_.at(c)];
    p.included = true;
    bool ok = true;
    if (!o_.onchain) {
      ok = false;
      for (net::NodeId h : p.holders) ok = ok || chain_->network().is_up(h);
      ok = ok || (!p.departed && chain_->network().is_up(node_of(c)));
    }
    p.available = ok;
    rep.available.push_back(ok ? 1 : 0);
    if (ok) {
      avail_pos.push_back(rep.scores.size());
      slots.push_back(p.slot);
      weights.push_back(static_cast<double>(L_->result(p.slot).samples));
    }
    rep.scores.push_back(0.0);
  }
  val_evals_ = val_rejected_ = val_rejected_mal_ = val_malicious_ = 0;
  validate_s_ = 0;
  if (o_.validation_vote && !slots.empty()) {
    // Only the updates the committee's vote accepts are aggregated and scored.
    const std::vector<std::uint8_t> accept = validation_vote(e, avail_pos, slots);
    std::vector<std::size_t> s2, p2;
    std::vector<double> w2;
    for (std::size_t j = 0; j < slots.size(); ++j) {
      if (accept[j]) {
        s2.push_back(slots[j]);
        w2.push_back(weights[j]);
        p2.push_back(avail_pos[j]);
      } else {
        parts_[part_of_.at(e.included[avail_pos[j]])].rejected = true;
      }
    }
    slots = std::move(s2);
    weights = std::move(w2);
    avail_pos = std::move(p2);
  }
  if (!slots.empty()) {
    L_->aggregate_slots(slots, weights, aggregate_, /*record=*/true);
    std::vector<std::span<const float>> deltas;
    for (std::size_t s : slots) deltas.push_back(L_->delta(s));
    ValidationUtility util(*L_, validation_, slots, weights);
    core::Rng rng(seed_, "contract.scores", 0, static_cast<std::uint64_t>(round_));
    economy::ScoreInput in{deltas, weights, aggregate_, &util, &rng};
    const economy::ScoreResult sr = o_.score->score(in);
    score_evals_ = sr.evaluations;
    for (std::size_t j = 0; j < avail_pos.size(); ++j) {
      rep.scores[avail_pos[j]] = sr.scores[j];
      parts_[part_of_.at(e.included[avail_pos[j]])].score = sr.scores[j];
    }
  } else {
    aggregate_.assign(L_->num_params(), 0.0f);
  }
  rep.model = hash_floats(aggregate_);
  honest_hash_ = rep.hash();
  // The ledger's record of each included update: its commitment, bound to the submit_update
  // transaction (audit recomputes the payload hash), and with record_updates its bytes.
  for (Account c : e.included) {
    const Participant& p = parts_[part_of_.at(c)];
    const std::span<const float> d = L_->delta(p.slot);
    const std::int64_t bytes = static_cast<std::int64_t>(d.size()) * 4;
    std::vector<core::Cell> row = {
        core::Cell{round_},       core::Cell{static_cast<std::int64_t>(c)},
        core::Cell{p.commitment}, core::Cell{static_cast<std::int64_t>(L_->client_size(c))},
        core::Cell{p.tx_hash},    core::Cell{bytes}};
    if (head_) {
      // Written once the closing block is final (a reorg may orphan this closing).
      row.push_back(core::Cell{open_ref_});
      pending_commits_.emplace_back(exec_block_, std::move(row));
    } else {
      commit_table_->append(row);
    }
    if (o_.record_updates) {
      const auto* b = reinterpret_cast<const std::uint8_t*>(d.data());
      std::vector<core::Cell> chunk(2);
      chunk[0] = core::Cell{commit_rows_};
      for (std::int64_t off = 0; off < bytes; off += 32) {
        Hash h{};
        std::memcpy(h.data(), b + off,
                    static_cast<std::size_t>(std::min<std::int64_t>(32, bytes - off)));
        chunk[1] = core::Cell{h};
        update_table_->append(chunk);
      }
    }
    ++commit_rows_;
  }
  contract_->set_report(round_, std::move(rep));
  // Each committee member's part.
  const double agg_s = validate_s_ + static_cast<double>(slots.size()) *
                                         static_cast<double>(L_->num_params()) * 2.0 /
                                         o_.validator_flops;
  for (Account m : committee_) {
    const auto v = static_cast<net::NodeId>(m - N_);
    if (!chain_->network().is_up(v)) continue;
    switch (o_.roles[v]) {
      case Role::kMalicious: {  // colluding: every malicious member votes the same wrong hash
        chain::Encoder enc;
        enc.hash(honest_hash_).u64(0x6d616c6963696f75ull).i64(round_);
        vote(m, enc.digest());
        break;
      }
      case Role::kLazy:
        break;  // votes when it sees the first vote (on_block_final)
      case Role::kHonest: {
        std::size_t need = 0;
        if (!o_.onchain)
          for (Account c : e.included) {
            const Participant& p = parts_[part_of_.at(c)];
            if (!p.available || std::find(p.holders.begin(), p.holders.end(), v) != p.holders.end())
              continue;
            net::NodeId src = node_of(c);
            for (net::NodeId h : p.holders)
              if (chain_->network().is_up(h)) {
                src = h;
                break;
              }
            chain_->network().send(
                src, v,
                {kFetch, false, src, update_bytes(), c, static_cast<std::uint64_t>(close_tag_), v});
            ++need;
          }
        if (need > 0) {
          pending_fetch_[v] = need;
        } else {
          engine.schedule_in(SimTime::from_seconds(agg_s), [this, m, r = close_tag_] {
            if (r == close_tag_) vote(m, honest_hash_);
          });
        }
        break;
      }
    }
  }
}

// The committee's validation vote (VBFL, Chen et al. 2021, "verification" by validators;
// BlockDFL, Qin et al. 2024, voting on updates). Each member that is up votes on every
// available included update: an honest member accepts iff the accuracy of global + delta on its
// own held-out rows is at least the global model's accuracy there minus validation_tolerance; a
// lazy member accepts everything without evaluating; a malicious member accepts the attack
// identities' updates and rejects the others. An update is kept when its accept share of the
// votes cast reaches validation_threshold. Returns accept[j] for slots[j].
std::vector<std::uint8_t> ContractCoordinator::validation_vote(
    const RoundClosed& e, std::span<const std::size_t> avail_pos,
    std::span<const std::size_t> slots) {
  const std::size_t n = slots.size();
  std::vector<std::int64_t> accepts(n, 0);
  std::int64_t voters = 0;
  std::vector<float> params;
  auto accuracy = [](const nn::EvalResult& r) {
    return r.count ? static_cast<double>(r.correct) / static_cast<double>(r.count) : 0.0;
  };
  std::size_t honest_rows = 0;
  for (Account m : e.committee) {
    const auto v = static_cast<net::NodeId>(m - N_);
    if (!chain_->network().is_up(v)) continue;
    ++voters;
    switch (o_.roles[v]) {
      case Role::kLazy:
        for (auto& a : accepts) ++a;
        break;
      case Role::kMalicious:
        for (std::size_t j = 0; j < n; ++j) accepts[j] += L_->role(e.included[avail_pos[j]]) != 0;
        break;
      case Role::kHonest: {
        const data::Dataset& rows = member_rows_[v];
        honest_rows = rows.size();
        const double base = accuracy(L_->evaluate(L_->global(), rows));
        ++val_evals_;
        for (std::size_t j = 0; j < n; ++j) {
          const std::span<const float> g = L_->global(), d = L_->delta(slots[j]);
          params.assign(g.begin(), g.end());
          for (std::size_t k = 0; k < params.size(); ++k) params[k] += d[k];
          const double acc = accuracy(L_->evaluate(params, rows));
          ++val_evals_;
          accepts[j] += acc >= base - o_.validation_tolerance;
        }
        break;
      }
    }
  }
  // Members validate in parallel with each other: the round waits for one member's share,
  // (1 + n) forward passes over its rows, a forward pass taken as a third of a training step's
  // FLOPs (the usual 1 : 2 forward : backward ratio).
  validate_s_ = static_cast<double>(1 + n) * static_cast<double>(honest_rows) *
                L_->flops_per_sample() / 3.0 / o_.validator_flops;
  std::vector<std::uint8_t> accept(n, 1);
  for (std::size_t j = 0; j < n; ++j) {
    const bool mal = L_->malicious(slots[j]);
    val_malicious_ += mal;
    if (voters > 0 && static_cast<double>(accepts[j]) <
                          o_.validation_threshold * static_cast<double>(voters) - 1e-12) {
      accept[j] = 0;
      ++val_rejected_;
      val_rejected_mal_ += mal;
    }
  }
  return accept;
}

void ContractCoordinator::on_finalized(const RoundFinalized& f) {
  const bool honest = !f.failed && f.result == honest_hash_;
  if (honest) {
    L_->apply(aggregate_);
  } else if (!f.failed) {
    ++wrong_results_;  // a hash no honest computation produced: no model matches it
  }
  write_round(f);
  if (contract_->done()) {
    if (head_) {
      done_block_ = exec_block_;  // the run ends when this block is final (on_final_head)
    } else {
      done_ = true;
      chain_->engine().stop();
    }
  }
}

namespace {

// With validation = "vote" the learner's attack columns see only the updates the vote accepted
// (it aggregates nothing else), so a rejected attacker vanished from them: detection_tpr was NaN
// under a vote that rejects every attacker and malicious_submitted undercounted. The vote is
// part of the defense (issue 10: "updates excluded or down-weighted"), so here every judged
// update counts: submitted = the attackers among them, flagged = rejected by the vote or given
// trust < 0.5 by the aggregation of the accepted ones (recovered from the learner's columns:
// its flagged attackers = accepted attackers - malicious_included, its flagged honest updates =
// detection_fpr x accepted honest ones, an exact count).
void fold_vote_into_detection(core::RoundSummary& row, std::int64_t judged, std::int64_t mal,
                              std::int64_t rejected, std::int64_t rejected_mal) {
  if (row.find("malicious_submitted") == nullptr) return;  // no [[attack]]: no attack columns
  auto at = [&row](std::string_view name) -> core::MetricValue& {
    for (auto& [n, v] : row.metrics)
      if (n == name) return v;
    throw std::logic_error(fmt::format("round row has no column '{}'", name));
  };
  const std::int64_t pos_acc = mal - rejected_mal;
  const std::int64_t neg_acc = (judged - mal) - (rejected - rejected_mal);
  const double agg_fpr = row.get_double("detection_fpr");
  const std::int64_t agg_included = std::get<std::int64_t>(at("malicious_included"));
  const std::int64_t tp_acc = std::clamp<std::int64_t>(pos_acc - agg_included, 0, pos_acc);
  const std::int64_t fp_acc =
      std::isnan(agg_fpr) || neg_acc <= 0
          ? 0
          : std::clamp<std::int64_t>(std::llround(agg_fpr * static_cast<double>(neg_acc)), 0,
                                     neg_acc);
  const std::int64_t neg = judged - mal;
  at("malicious_submitted") = mal;
  at("malicious_included") = pos_acc - tp_acc;
  at("detection_tpr") =
      mal > 0 ? static_cast<double>(rejected_mal + tp_acc) / static_cast<double>(mal) : kNaN;
  at("detection_fpr") =
      neg > 0 ? static_cast<double>(rejected - rejected_mal + fp_acc) / static_cast<double>(neg)
              : kNaN;
}

}  // namespace

void ContractCoordinator::write_round(const RoundFinalized& f) {
  if (head_) ensure_trained();  // make_row reads the included updates' results
  const double now = chain_->engine().now().seconds();
  LearningContract::RoundBook book = contract_->take_book();
  std::vector<fl::Task> tasks;
  std::vector<std::size_t> slots;
  std::int64_t offline = 0, crashed = 0, submitted = 0, included = 0, unavailable = 0;
  double s_down = 0, s_train = 0, s_up = 0, s_incl = 0;
  std::int64_t n_down = 0, n_train = 0, n_up = 0, n_incl = 0;
  for (const Participant& p : parts_) {
    offline += p.offline;
    crashed += p.crashed;
    submitted += p.submitted;
    included += p.included;
    unavailable += p.included && !p.available;
    if (!std::isnan(p.t_download)) s_down += p.t_download - t_open_, ++n_down;
    if (!std::isnan(p.t_trained)) s_train += p.t_trained - p.t_download, ++n_train;
    if (!std::isnan(p.t_uploaded)) s_up += p.t_uploaded - p.t_trained, ++n_up;
    if (!std::isnan(p.t_executed)) s_incl += p.t_executed - p.t_uploaded, ++n_incl;
    if (p.included && p.available && !p.rejected && !f.failed && f.result == honest_hash_) {
      tasks.push_back({p.client, 0, round_, L_->version() - 1, nullptr, 0.0, 0, 0});
      slots.push_back(p.slot);
    }
  }
  auto mean = [](double s, std::int64_t n) { return n > 0 ? s / static_cast<double>(n) : kNaN; };
  core::RoundSummary row =
      L_->make_row(round_, now, now - t_open_, tasks, ro_.eval_round(round_), slots);
  row.add("participants", static_cast<std::int64_t>(parts_.size()));
  row.add("dropped_offline", offline);
  row.add("dropped_crashed", crashed);
  row.add("submitted", submitted);
  row.add("included_submissions", included);
  row.add("rejected_submissions", book.rejected);
  row.add("unavailable_updates", unavailable);
  row.add("censored_submissions", censored_round_);
  censored_round_ = 0;
  row.add("equivocation_evidence", evidence_round_);
  row.add("equivocation_offences", book.evidence_accepted);
  row.add("equivocation_slashed", book.equivocation_slashed);
  evidence_round_ = 0;
  if (o_.validation_vote) {
    const auto judged = static_cast<std::int64_t>(
        std::count_if(parts_.begin(), parts_.end(),
                      [](const Participant& p) { return p.included && p.available; }));
    fold_vote_into_detection(row, judged, val_malicious_, val_rejected_, val_rejected_mal_);
    row.add("validation_evaluations", val_evals_);
    row.add("validation_judged", judged);
    row.add("validation_malicious", val_malicious_);
    row.add("validation_rejected", val_rejected_);
    row.add("validation_rejected_malicious", val_rejected_mal_);
    row.add("validation_s", validate_s_);
  }
  if (head_) {
    row.add("reverted_rounds", reverted_row_);
    row.add("wasted_updates", wasted_row_);
    reverted_row_ = wasted_row_ = 0;
  }
  row.add("round_failed", static_cast<std::int64_t>(f.failed));
  row.add("wrong_result", static_cast<std::int64_t>(!f.failed && f.result != honest_hash_));
  row.add("committee", static_cast<std::int64_t>(committee_.size()));
  row.add("dissenting_votes", static_cast<std::int64_t>(f.dissenters.size()));
  std::int64_t gas = 0;
  for (std::size_t k = 0; k < kOps; ++k) gas += gas_by_op_[k];
  row.add("gas_used", gas);
  for (std::size_t k = 0; k < kOps; ++k)
    row.add(fmt::format("gas_{}", op_name(static_cast<Op>(k))), gas_by_op_[k]);
  row.add("bytes_onchain", bytes_onchain_);
  row.add("bytes_offchain", bytes_offchain_);
  row.add("blocks_produced",
          static_cast<std::int64_t>(chain_->ledger().tree.size() - blocks_at_open_));
  row.add("token_supply", contract_->tokens().total_supply());
  row.add("minted", book.minted);
  row.add("burned", book.burned);
  row.add("rewards_paid", book.rewards_paid);
  row.add("slashed", book.slashed);
  row.add("score_evaluations", score_evals_);
  row.add("round_latency_s", now - t_open_);
  row.add("latency_selection_s", t_open_ - t_prev_final_);
  row.add("latency_download_s", mean(s_down, n_down));
  row.add("latency_training_s", mean(s_train, n_train));
  row.add("latency_submission_s", mean(s_up, n_up));
  row.add("latency_inclusion_s", mean(s_incl, n_incl));
  row.add("latency_aggregation_s",
          std::isnan(t_close_) || std::isnan(t_last_vote_) ? kNaN : t_last_vote_ - t_close_);
  row.add("latency_finalization_s", std::isnan(t_last_vote_) ? kNaN : now - t_last_vote_);
  row.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0_).count();
  // /clients: one row per (round, participant).
  std::map<Account, Amount> reward, slashed;
  for (const auto& [a, x] : book.rewards) reward[a] += x, reward_sum_[a] += x;
  for (const auto& [a, x] : book.slashes) slashed[a] += x, slash_sum_[a] += x;
  for (const Participant& p : parts_) {
    const std::vector<core::Cell> cells = {
        core::Cell{round_},
        core::Cell{static_cast<std::int64_t>(p.client)},
        core::Cell{std::int64_t{1}},
        core::Cell{static_cast<std::int64_t>(p.submitted)},
        core::Cell{static_cast<std::int64_t>(p.included)},
        core::Cell{
            static_cast<std::int64_t>(p.included && p.available && !p.rejected && !f.failed)},
        core::Cell{p.score},
        core::Cell{reward.count(p.client) ? reward[p.client] : Amount{0}},
        core::Cell{slashed.count(p.client) ? slashed[p.client] : Amount{0}},
        core::Cell{contract_->tokens().bonded(p.client)},
        core::Cell{contract_->reputation().value(p.client)},
        core::Cell{static_cast<std::int64_t>(L_->role(p.client))}};
    clients_table_->append(cells);
  }
  if (const fl::Adversary* adv = L_->adversary()) {
    // Attacker economics: this round's rewards to attacker identities and to honest clients,
    // and the stake the identities hold now.
    Amount ar = 0, hr = 0, stake = 0;
    for (const auto& [a, x] : reward)
      if (a < N_) (adv->role(a) ? ar : hr) += x;
    for (std::size_t c : attacker_ids_)
      stake += contract_->tokens().bonded(static_cast<Account>(c));
    row.add("attacker_reward", ar);
    row.add("honest_reward", hr);
    row.add("attacker_stake", stake);
  }
  write_records();
  t_prev_final_ = now;
  // The chain's accounting restarts here: what executes from now on (late votes of this round
  // included) belongs to the next round's row, so the columns sum to the run's totals.
  std::fill(std::begin(gas_by_op_), std::end(gas_by_op_), 0);
  bytes_onchain_ = bytes_offchain_ = 0;
  blocks_at_open_ = chain_->ledger().tree.size();
  if (head_ && contract_->done()) {
    // Under "head" the run goes on until this finalization is final: the last row waits, so
    // that its blocks_produced also counts the blocks until then (every block in one row).
    held_row_ = std::move(row);
    return;
  }
  sink_->on_round(row);
  sink_->flush();
}

void ContractCoordinator::emit_held_row(bool at_end) {
  if (!held_row_) return;
  if (at_end) {
    const std::uint32_t size = chain_->ledger().tree.size();
    for (auto& [name, v] : held_row_->metrics)
      if (name == "blocks_produced")
        v = std::get<std::int64_t>(v) + static_cast<std::int64_t>(size - blocks_at_open_);
    blocks_at_open_ = size;
  }
  sink_->on_round(*held_row_);
  sink_->flush();
  held_row_.reset();
}

// ---------------------------------------------------------------------- execute_on = "head"
ContractCoordinator::RoundState ContractCoordinator::save_round(bool bulk) {
  RoundState r;
  r.inst = inst_;
  r.round = round_;
  r.close_tag = close_tag_;
  r.t_open = t_open_;
  r.t_close = t_close_;
  r.t_last_vote = t_last_vote_;
  r.parts = parts_;
  r.part_of = part_of_;
  r.committee = committee_;
  r.voted = voted_;
  r.pending_fetch = pending_fetch_;
  if (bulk) {
    r.aggregate = std::move(aggregate_);
    r.tasks = std::move(tasks_);
    aggregate_.clear();
    tasks_.clear();
  }
  r.honest_hash = honest_hash_;
  r.first_vote = first_vote_;
  r.open_ref = open_ref_;
  r.close_ref = close_ref_;
  r.have_first_vote = have_first_vote_;
  r.score_evals = score_evals_;
  r.val_evals = val_evals_;
  r.val_rejected = val_rejected_;
  r.val_rejected_mal = val_rejected_mal_;
  r.val_malicious = val_malicious_;
  r.validate_s = validate_s_;
  r.wall0 = wall0_;
  return r;
}

void ContractCoordinator::load_round(RoundState&& r) {
  inst_ = r.inst;
  round_ = r.round;
  close_tag_ = r.close_tag;
  t_open_ = r.t_open;
  t_close_ = r.t_close;
  t_last_vote_ = r.t_last_vote;
  parts_ = std::move(r.parts);
  part_of_ = std::move(r.part_of);
  committee_ = std::move(r.committee);
  voted_ = std::move(r.voted);
  pending_fetch_ = std::move(r.pending_fetch);
  aggregate_ = std::move(r.aggregate);
  tasks_ = std::move(r.tasks);
  honest_hash_ = r.honest_hash;
  first_vote_ = r.first_vote;
  open_ref_ = r.open_ref;
  close_ref_ = r.close_ref;
  have_first_vote_ = r.have_first_vote;
  score_evals_ = r.score_evals;
  val_evals_ = r.val_evals;
  val_rejected_ = r.val_rejected;
  val_rejected_mal_ = r.val_rejected_mal;
  val_malicious_ = r.val_malicious;
  validate_s_ = r.validate_s;
  wall0_ = r.wall0;
}

// The learner's slots are a cache of one instance's deltas; after a revert to an earlier
// instance they are recomputed (training is a pure function of the tasks: same bytes, checked
// against the commitments).
void ContractCoordinator::ensure_trained() {
  if (trained_inst_ == inst_ || tasks_.empty()) return;
  L_->train(tasks_);
  for (const Participant& p : parts_)
    if (p.slot != static_cast<std::size_t>(-1) && hash_floats(L_->delta(p.slot)) != p.commitment)
      throw std::logic_error("execute_on = head: retraining a round gave other bytes");
  trained_inst_ = inst_;
  ++retrains_;
}

void ContractCoordinator::on_main_head(std::uint32_t b, bool on) {
  if (b == 0) return;
  if (!on) {
    // Blocks leave the main chain from the old head down: each is the last one executed.
    if (executed_.empty() || executed_.back().block != b)
      throw std::runtime_error(fmt::format(
          "execute_on = \"head\": a reorg removed block {} (height {}), which the contract "
          "executed as final; the consensus broke finality (raise "
          "chain.consensus.confirmations)",
          b, chain_->ledger().tree.at(b).height()));
    revert_to_ = std::move(executed_.back());
    executed_.pop_back();
    revert_pending_ = true;
    ++reverted_blocks_;
    return;
  }
  if (revert_pending_) apply_revert();
  if (done_) return;
  // The state before this block, then the block.
  Exec e;
  e.block = b;
  e.contract = std::make_unique<LearningContract>(*contract_);
  e.global = L_->global_state();
  e.round = save_round(/*bulk=*/false);
  std::copy(std::begin(gas_by_op_), std::end(gas_by_op_), std::begin(e.gas_by_op));
  e.bytes_onchain = bytes_onchain_;
  e.wrong_results = wrong_results_;
  e.t_prev_final = t_prev_final_;
  e.reward_sum = reward_sum_;
  e.slash_sum = slash_sum_;
  e.done_block = done_block_;
  executed_.push_back(std::move(e));
  if (contract_->done()) {
    exec_block_ = b;  // the last round is final on the head: nothing executes any more
    return;
  }
  execute(b, /*erase_calls=*/false);
}

// Restores the state after the common ancestor (revert_to_, the state before the first block
// that left the main chain). What the orphaned blocks did is counted first.
void ContractCoordinator::apply_revert() {
  revert_pending_ = false;
  Exec& t = revert_to_;
  ++reverts_;
  // Round transitions undone: from (round, phase) at the old head back to the ancestor's, each
  // round whose opening, closing or finalization is undone counts once.
  const std::int64_t r_now = contract_->round(), r_then = t.contract->round();
  if (r_now != r_then || contract_->phase() != t.contract->phase()) {
    const std::int64_t n = (r_now - r_then) + (r_then > 0 ? 1 : 0);
    reverted_row_ += n;
    reverted_total_ += n;
  }
  // Instances opened on the orphaned branch are dead: their trained updates are wasted.
  const std::int64_t x = t.round.inst;
  RoundState live;
  if (inst_ == x) {
    live = save_round(/*bulk=*/true);
  } else {
    auto trained = [](const std::vector<Participant>& ps) {
      return static_cast<std::int64_t>(std::count_if(ps.begin(), ps.end(), [](const auto& p) {
        return p.slot != static_cast<std::size_t>(-1);
      }));
    };
    std::int64_t w = trained(parts_);
    for (auto it = frozen_.upper_bound(x); it != frozen_.end();) {
      w += trained(it->second.parts);
      it = frozen_.erase(it);
    }
    wasted_row_ += w;
    wasted_total_ += w;
    live = std::move(frozen_.at(x));
    frozen_.erase(x);
  }
  // The instance's off-chain facts stay (live); what the chain decided returns to the ancestor's.
  for (std::size_t i = 0; i < live.parts.size() && i < t.round.parts.size(); ++i) {
    Participant& p = live.parts[i];
    const Participant& q = t.round.parts[i];
    p.submitted = q.submitted;
    p.t_executed = q.t_executed;
    p.tx_hash = q.tx_hash;
    p.included = q.included;
    p.available = q.available;
    p.rejected = q.rejected;
    p.score = q.score;
  }
  live.committee = t.round.committee;
  live.t_close = t.round.t_close;
  live.honest_hash = t.round.honest_hash;
  live.close_ref = t.round.close_ref;
  live.close_tag = t.round.close_tag;
  live.have_first_vote = t.round.have_first_vote;
  live.first_vote = t.round.first_vote;
  live.score_evals = t.round.score_evals;
  live.val_evals = t.round.val_evals;
  live.val_rejected = t.round.val_rejected;
  live.val_rejected_mal = t.round.val_rejected_mal;
  live.val_malicious = t.round.val_malicious;
  live.validate_s = t.round.validate_s;
  load_round(std::move(live));
  contract_ = std::move(t.contract);
  L_->restore_global(t.global);
  std::copy(std::begin(t.gas_by_op), std::end(t.gas_by_op), std::begin(gas_by_op_));
  bytes_onchain_ = t.bytes_onchain;
  wrong_results_ = t.wrong_results;
  t_prev_final_ = t.t_prev_final;
  reward_sum_ = std::move(t.reward_sum);
  slash_sum_ = std::move(t.slash_sum);
  done_block_ = t.done_block;
  if (done_block_ == chain::kNoBlock) emit_held_row(false);  // the last round was reverted
  const chain::BlockTree& tree = chain_->ledger().tree;
  std::erase_if(pending_commits_, [&](const auto& pc) { return !tree.at(pc.first).on_main; });
  contract_->tokens().check_supply();  // the restored state conserves supply too
  revert_to_ = Exec{};
}

void ContractCoordinator::on_final_head(std::uint32_t b) {
  if (b == 0) return;
  if (revert_pending_) apply_revert();
  const chain::BlockTree& tree = chain_->ledger().tree;
  const std::int64_t h = tree.at(b).height();
  while (!executed_.empty() && tree.at(executed_.front().block).height() <= h)
    executed_.pop_front();
  const std::int64_t keep = executed_.empty() ? inst_ : executed_.front().round.inst;
  while (!frozen_.empty() && frozen_.begin()->first < keep) frozen_.erase(frozen_.begin());
  std::erase_if(pending_commits_, [&](auto& pc) {
    if (tree.at(pc.first).height() > h || !tree.at(pc.first).on_main) return false;
    commit_table_->append(pc.second);
    return true;
  });
  for (std::uint32_t t : tree.at(b).txs) calls_.erase(chain_->ledger().txs[t].nonce);
  if (b == done_block_ && !done_) {
    emit_held_row(true);
    done_ = true;
    chain_->engine().stop();
  }
}

// /contract/state: the application state each block's header commits to (one row per block
// produced so far, forks included); audit recomputes every header's state_digest from it.
void ContractCoordinator::write_records() {
  const chain::BlockTree& t = chain_->ledger().tree;
  std::vector<core::Cell> row(2);
  for (; state_written_ < t.size(); ++state_written_) {
    row[0] = core::Cell{t.at(state_written_).hash};
    row[1] = core::Cell{t.at(state_written_).app_state};
    state_table_->append(row);
  }
}

void ContractCoordinator::run(core::RunSink& sink) {
  if (L_->dry()) throw std::logic_error("ContractCoordinator::run: built from a dry document");
  sink_ = &sink;
  sink.set_meta("model", L_->model().name());
  sink.set_meta("num_params", static_cast<std::int64_t>(L_->num_params()));
  sink.set_meta("clients", static_cast<std::int64_t>(N_));
  sink.set_meta("coordinator", std::string("contract"));
  sink.set_meta("contract.storage", std::string(o_.onchain ? "onchain" : "offchain"));
  for (std::size_t v = 0; v < V_; ++v)
    sink.set_meta(fmt::format("contract.validator_role.{}", v),
                  std::string(role_name(o_.roles[v])));
  static const std::vector<core::ColumnSpec> kClientCols = {
      {"round", core::ColumnType::kInt64},        {"client", core::ColumnType::kInt64},
      {"selected", core::ColumnType::kInt64},     {"submitted", core::ColumnType::kInt64},
      {"included", core::ColumnType::kInt64},     {"accepted", core::ColumnType::kInt64},
      {"score", core::ColumnType::kFloat64},      {"reward", core::ColumnType::kInt64},
      {"slashed", core::ColumnType::kInt64},      {"stake", core::ColumnType::kInt64},
      {"reputation", core::ColumnType::kFloat64}, {"role", core::ColumnType::kInt64}};
  clients_table_ = &sink.table("/clients", kClientCols);
  std::vector<core::ColumnSpec> commit_cols = {
      {"round", core::ColumnType::kInt64},       {"client", core::ColumnType::kInt64},
      {"commitment", core::ColumnType::kHash32}, {"samples", core::ColumnType::kInt64},
      {"tx_hash", core::ColumnType::kHash32},    {"bytes", core::ColumnType::kInt64}};
  // Under "head" a submission names the block that opened its round (part of its payload hash).
  if (head_) commit_cols.push_back({"ref", core::ColumnType::kHash32});
  commit_table_ = &sink.table("/contract/commitments", commit_cols);
  if (head_) {
    // One row per round opening executed on the head (a reopening after a revert is a new
    // instance): its block's hash and how many participants trained for it.
    static const std::vector<core::ColumnSpec> kOpenCols = {
        {"round", core::ColumnType::kInt64},
        {"instance", core::ColumnType::kInt64},
        {"block_hash", core::ColumnType::kHash32},
        {"participants", core::ColumnType::kInt64},
        {"trained", core::ColumnType::kInt64}};
    openings_table_ = &sink.table("/contract/openings", kOpenCols);
    sink.set_meta("contract.execute_on", std::string("head"));
  }
  if (o_.record_updates) {
    static const std::vector<core::ColumnSpec> kUpdateCols = {{"update", core::ColumnType::kInt64},
                                                              {"chunk", core::ColumnType::kHash32}};
    update_table_ = &sink.table("/contract/updates", kUpdateCols);
  }
  static const std::vector<core::ColumnSpec> kStateCols = {
      {"block_hash", core::ColumnType::kHash32}, {"app_state", core::ColumnType::kHash32}};
  state_table_ = &sink.table("/contract/state", kStateCols);
  if (bft_) {
    // Duplicate-vote evidence transactions: one per (offender, height), from the first holder.
    static const std::vector<core::ColumnSpec> kEvidenceCols = {
        {"round", core::ColumnType::kInt64},     {"offender", core::ColumnType::kInt64},
        {"holder", core::ColumnType::kInt64},    {"height", core::ColumnType::kInt64},
        {"bft_round", core::ColumnType::kInt64}, {"precommit", core::ColumnType::kInt64}};
    evidence_table_ = &sink.table("/contract/evidence", kEvidenceCols);
  }
  sink.set_meta("contract.op_kind_base", static_cast<std::int64_t>(kinds_[0]));
  if (const fl::Adversary* adv = L_->adversary()) {
    attacker_ids_ = adv->identity_clients();
    for (int k = 0; k <= static_cast<int>(adv->num_attacks()); ++k)
      sink.set_meta(fmt::format("attack.role.{}", k), adv->role_name(k));
  }
  reward_sum_.assign(N_ + V_ + 1, 0);
  slash_sum_.assign(N_ + V_ + 1, 0);
  // Genesis: each client's balance is its drawn stake (keyed per client), bonded by its
  // registration transaction; validators' stake is bonded at genesis.
  std::vector<Amount> balances(N_);
  for (std::size_t c = 0; c < N_; ++c) {
    core::Rng rng(seed_, "contract.stake", c, 0);
    balances[c] = static_cast<Amount>(std::llround(std::max(0.0, o_.stake->sample(rng))));
  }
  if (const fl::Adversary* adv = L_->adversary()) {
    // A Sybil operator's budget split over its identities; each bonds its share by its own
    // registration (below min_stake an identity is never selected).
    for (std::size_t c : adv->identity_clients()) {
      const fl::Adversary::Identity* id = adv->identity(c);
      if (!id || id->attack >= o_.stake_budget.size() || o_.stake_budget[id->attack] < 0) continue;
      balances[c] = o_.stake_budget[id->attack] /
                    static_cast<Amount>(std::max<std::size_t>(1, adv->identities(id->attack)));
    }
  }
  contract_->genesis(balances, o_.validator_stake, o_.requester_balance);
  genesis_balance_ = balances;
  contract_->tokens().seal_genesis();
  LearningContract::Observer obs;
  obs.opened = [this](const RoundOpened& e) { on_opened(e); };
  obs.closed = [this](const RoundClosed& e) { on_closed(e); };
  obs.finalized = [this](const RoundFinalized& f) { on_finalized(f); };
  contract_->set_observer(std::move(obs));
  if (head_) {
    chain::BlockTree& tree = chain_->ledger().tree;
    tree.on_main_change([this](std::uint32_t b, bool on) { on_main_head(b, on); });
    tree.on_reorg([this](const chain::ReorgEvent&) {
      if (revert_pending_) apply_revert();
    });
    tree.on_finalized([this](std::uint32_t b) { on_final_head(b); });
  } else {
    chain_->ledger().tree.on_finalized([this](std::uint32_t b) { on_block_final(b); });
  }
  chain_->ledger().set_app_state([this] { return contract_->state_digest(); });
  if (bft_) bft_->on_evidence([this](const chain::DuplicateVoteEvidence& e) { on_evidence(e); });
  if (std::count(o_.censor.begin(), o_.censor.end(), 1) > 0)
    chain_->ledger().set_proposer_filter(
        [this](std::uint32_t proposer, const chain::Transaction& tx) {
          return censors(proposer, tx);
        });
  chain_->attach_app(this, [this] { return done_; });
  for (std::size_t c = 0; c < N_; ++c) {
    if (balances[c] <= 0) continue;
    Call reg;
    reg.op = Op::kRegister;
    reg.sender = static_cast<Account>(c);
    reg.amount = balances[c];
    ++contract_->pending_registrations;
    submit(reg, register_cost(gas_));
  }
  chain_->run(sink);
  emit_held_row(true);
  write_records();
  finish_summary();
  if (!done_)
    throw std::runtime_error(fmt::format(
        "the chain reached simulation.duration = {} after {} of {} rounds; raise "
        "simulation.duration (every finished round is in the file)",
        core::to_string(chain_->engine().now()), contract_->finalized_rounds(), ro_.rounds));
}

void ContractCoordinator::finish_summary() {
  std::vector<double> client_rewards;
  Amount cr = 0, cs = 0, vr = 0, vs = 0, stake = 0;
  for (std::size_t c = 0; c < N_; ++c) {
    client_rewards.push_back(static_cast<double>(reward_sum_[c]));
    cr += reward_sum_[c];
    cs += slash_sum_[c];
    stake += contract_->tokens().bonded(static_cast<Account>(c));
  }
  for (std::size_t v = 0; v < V_; ++v) {
    vr += reward_sum_[N_ + v];
    vs += slash_sum_[N_ + v];
  }
  const double g = economy::gini(client_rewards);
  summary_.push_back(fmt::format(
      "contract: {} rounds finalized ({} failed, {} with a wrong result); token supply {}",
      contract_->finalized_rounds(), contract_->failed_rounds(), wrong_results_,
      contract_->tokens().total_supply()));
  if (head_)
    summary_.push_back(fmt::format(
        "execute_on = head: {} reverts ({} blocks executed again), {} round transitions "
        "reverted, {} wasted updates, {} retrained batches",
        reverts_, reverted_blocks_, reverted_total_, wasted_total_, retrains_));
  summary_.push_back(fmt::format(
      "economy: client rewards {} (Gini {:.3f}), slashed {}; validator rewards {}, slashed {}; "
      "client return on stake {:.4f}",
      cr, g, cs, vr, vs, economy::return_on_stake(cr, cs, stake)));
  if (const fl::Adversary* adv = L_->adversary()) {
    // attacker_roi = (rewards - slashed) / stake the identities bonded at registration, against
    // the same ratio for the honest clients.
    Amount ar = 0, as = 0, astake = 0, hr = 0, hs = 0, hstake = 0;
    for (std::size_t c = 0; c < N_; ++c) {
      const bool att = adv->role(c) != 0;
      const Amount b0 = genesis_balance_.empty() ? 0 : genesis_balance_[c];
      (att ? ar : hr) += reward_sum_[c];
      (att ? as : hs) += slash_sum_[c];
      (att ? astake : hstake) += b0;
    }
    auto roi = [](Amount r, Amount s, Amount st) {
      return st > 0 ? static_cast<double>(r - s) / static_cast<double>(st) : 0.0;
    };
    attacker_roi_ = roi(ar, as, astake);
    summary_.push_back(fmt::format(
        "attackers: {} identities, rewards {}, slashed {}, stake {}, attacker_roi {:.4f}; honest "
        "clients: rewards {}, slashed {}, return on stake {:.4f}",
        adv->total_identities(), ar, as, astake, attacker_roi_, hr, hs, roi(hr, hs, hstake)));
  }
  std::vector<std::string> roles;
  std::vector<Amount> rewards, slashes;
  for (std::size_t v = 0; v < V_; ++v) {
    // An equivocator's profit apart (its contract role is still honest, lazy or malicious).
    roles.push_back(o_.equivocating[v] ? std::string("equivocating")
                                       : std::string(role_name(o_.roles[v])));
    rewards.push_back(reward_sum_[N_ + v]);
    slashes.push_back(slash_sum_[N_ + v]);
  }
  for (const economy::RoleProfit& rp : economy::profit_by_role(roles, rewards, slashes))
    summary_.push_back(fmt::format("validators {}: {} members, rewards {}, slashed {}, profit {}",
                                   rp.role, rp.members, rp.rewards, rp.slashed, rp.profit()));
  // Wall-clock figure (printed only; results never depend on it): the SHA-256 commitments,
  // computed inside the training tasks, summed over tasks.
  summary_.push_back(fmt::format(
      "update commitments: {:.1f} MB hashed with SHA-256 in {:.3f} s of task time ({:.0f} MB/s "
      "per core)",
      sha_bytes_ / 1e6, sha_seconds_, sha_seconds_ > 0 ? sha_bytes_ / 1e6 / sha_seconds_ : 0.0));
  std::vector<core::ColumnSpec> cols = {{"rounds_finalized", core::ColumnType::kInt64},
                                        {"rounds_failed", core::ColumnType::kInt64},
                                        {"wrong_results", core::ColumnType::kInt64},
                                        {"token_supply", core::ColumnType::kInt64},
                                        {"client_rewards", core::ColumnType::kInt64},
                                        {"client_slashed", core::ColumnType::kInt64},
                                        {"validator_rewards", core::ColumnType::kInt64},
                                        {"validator_slashed", core::ColumnType::kInt64},
                                        {"reward_gini", core::ColumnType::kFloat64},
                                        {"client_return_on_stake", core::ColumnType::kFloat64},
                                        {"attacker_roi", core::ColumnType::kFloat64}};
  std::vector<core::Cell> cells = {contract_->finalized_rounds(),
                                   contract_->failed_rounds(),
                                   wrong_results_,
                                   contract_->tokens().total_supply(),
                                   cr,
                                   cs,
                                   vr,
                                   vs,
                                   g,
                                   economy::return_on_stake(cr, cs, stake),
                                   L_->adversary() ? attacker_roi_ : kNaN};
  if (head_) {
    for (const char* c : {"reverts", "reverted_blocks", "reverted_rounds", "wasted_updates"})
      cols.push_back({c, core::ColumnType::kInt64});
    for (std::int64_t x : {reverts_, reverted_blocks_, reverted_total_, wasted_total_})
      cells.emplace_back(x);
  }
  sink_->table("/contract_summary", cols).append(cells);
  sink_->flush();
}

}  // namespace

std::unique_ptr<fl::Coordinator> build_contract_coordinator(const ParamView& root,
                                                            std::uint64_t seed,
                                                            std::shared_ptr<fl::Learner> learner,
                                                            const ContractDeps& deps) {
  return std::make_unique<ContractCoordinator>(root, seed, std::move(learner), deps);
}

std::vector<scenario::ParamDoc> contract_param_docs() {
  return {
      {"storage", "string", "offchain", "",
       "'offchain': the update stays with its submitter and `replicas` validators, only its "
       "SHA-256 commitment goes on-chain; 'onchain': the update's bytes are call data"},
      {"execute_on", "string", "final", "",
       "'final': the validators execute each finalized block; 'head': each block when it joins "
       "the main chain (optimistic, FLchain); a reorg restores the state at the common ancestor "
       "and executes the new branch, reverting its round transitions (/rounds reverted_rounds) "
       "and wasting the updates trained for an orphaned round opening (wasted_updates); needs "
       "server.type = 'sgd', no [[attack]], no proposals, no record_updates"},
      {"replicas", "int", "2", "", "validators holding each off-chain update"},
      {"min_stake", "int", "100", "tokens", "bonded stake an identity needs to be selected"},
      {"stake", "table", "min_stake", "tokens",
       "each client's genesis balance, bonded at registration (a distribution)"},
      {"validator_stake", "int", "10000", "tokens",
       "each validator's bonded stake (committee weight)"},
      {"committee", "int", "0", "",
       "validators on each round's committee, stake-weighted (0 = all)"},
      {"quorum", "float", "0.6667", "",
       "a result finalizes with strictly more than this share of committee stake"},
      {"vote_timeout", "duration", "600s", "s", "after closing; no quorum by then = failed round"},
      {"unbonding_rounds", "int", "2", "rounds", "delay before unbonded stake is released"},
      {"slash_dissent", "float", "0.1", "",
       "stake fraction slashed for voting against the finalized result"},
      {"slash_unavailable", "float", "0.1", "",
       "stake fraction slashed for an update no holder could serve"},
      {"slash_to", "string", "burn", "", "'burn' or 'treasury'"},
      {"leave_after_submit", "float", "0", "",
       "probability a client goes offline after submitting"},
      {"validator_flops", "float", "1e11", "FLOP/s", "a committee member's aggregation speed"},
      {"gas_price", "int", "20", "gwei", "fee per gas of contract transactions (mempool priority)"},
      {"record_updates", "bool", "false", "",
       "write every included update's bytes to /contract/updates (audit re-hashes them)"},
      {"lazy_validators", "list<int>", "[]", "",
       "validators that vote without fetching (copy the first vote)"},
      {"malicious_validators", "list<int>", "[]", "",
       "validators that vote a wrong hash (colluding)"},
      {"censor_validators", "list<int>", "[]", "",
       "validators that, as block proposers, leave out the censored clients' submit_update "
       "transactions (they stay in the mempool for an honest proposer)"},
      {"censor_clients", "string or list<int>", "fraction", "",
       "whose submissions the censors leave out: 'attackers' (the [[attack]] identities), "
       "'honest' (every other client), 'fraction' (a keyed censor_fraction of the clients) or a "
       "list of client ids"},
      {"equivocating_validators", "list<int>", "[]", "",
       "validators that double-sign BFT votes (chain.consensus.byzantine; needs the bft "
       "consensus); honest holders of duplicate-vote evidence submit an evidence transaction"},
      {"slash_equivocation", "float", "0.5", "",
       "stake fraction slashed per (validator, height) proven to have double-signed"},
      {"validation", "string", "none", "",
       "'none' or 'vote': committee members vote on every included update from their own "
       "held-out rows; only updates with an accept share >= validation_threshold are aggregated"},
      {"validation_threshold", "float", "0.5", "",
       "share of the committee's votes an update needs to be aggregated (validation = 'vote')"},
      {"validation_tolerance", "float", "0.02", "",
       "an honest member accepts if accuracy(global + delta) >= accuracy(global) - this"},
      {"validation_vote_samples", "int", "500", "",
       "held-out rows per committee member (block v of a keyed shuffle of train_eval)"},
      {"[[attack]].stake_budget", "int", "none", "tokens",
       "in an [[attack]] table: the operator's total stake; its k identities get floor(X / k) "
       "each as genesis balance (instead of contract.stake) and each bonds it by its own "
       "registration"},
      {"censor_fraction", "float", "0.2", "",
       "with censor_clients = 'fraction': the share of clients censored, round(x N), drawn by a "
       "keyed shuffle"},
      {"validation_samples", "int", "1000", "",
       "validation rows (from the train_eval sample) for scores"},
      {"gas", "table", "{}", "",
       "gas schedule: tx_base, calldata_nonzero, calldata_zero, sstore_set, cold_access, log_base, "
       "log_topic, log_byte"},
      {"rewards", "table", "{}", "",
       "per_round, decay, task_fee, validator_share, requester_balance, score"},
      {"selection", "table", "{type = \"uniform\"}", "",
       "participant selection policy: type = ..."},
      {"reputation", "table", "{type = \"beta\"}", "", "reputation model: type = ..."},
      {"governance", "table", "{}", "", "quorum: turnout of bonded stake a proposal needs (0.33)"},
      {"proposal", "array of tables", "[]", "",
       "scripted proposals: round, key (min_stake|reward_per_round|quorum), value, voting_rounds, "
       "yes_fraction, turnout"},
  };
}

}  // namespace ledgerfl::contract
