// The learning contract: a deterministic state machine driven only by the transactions of the
// blocks it executes (DESIGN.md "How a round flows"). Validators execute it on every finalized
// block, in height order, so all honest validators reach the same state; its state digest goes
// into the next block header (as Tendermint's app hash: the header of height h + 1 commits to
// the state after executing block h).
//
// Lifecycle of round r:
//   open       the block that finalized round r - 1 (or that executed the last genesis
//              registration) opens round r: randomness = that block's hash; participants drawn
//              from the bonded identities by the selection policy; deadline = block time +
//              rounds.deadline.
//   submit     one submit_update per selected participant, included in a block whose
//              timestamp is <= the deadline; late, duplicate, unselected, unbonded, wrong-round
//              and malformed submissions are rejected with the reason recorded.
//   close      the first executed block past the deadline, or the one holding the K-th
//              accepted submission (K = rounds.per_round; over-selection keeps the first K,
//              as the server does), closes submissions and draws the validator committee
//              (stake-weighted, keyed by the closing block's hash).
//   vote       committee members vote on the hash of the aggregate (vote transactions);
//              quorum: > `quorum` of the committee's stake on one hash finalizes it. A round
//              whose votes do not reach quorum by the vote deadline fails (model unchanged).
//   finalize   the model version and hash are recorded; rewards are minted and split by
//              contribution score; dissenting voters and submitters of unavailable updates are
//              slashed; reputation is updated; due governance proposals are enacted; round
//              r + 1 opens in the same block.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/chain/hash.hpp"
#include "sim/contract/gas.hpp"
#include "sim/core/time.hpp"
#include "sim/economy/governance.hpp"
#include "sim/economy/ledger.hpp"
#include "sim/economy/reputation.hpp"
#include "sim/economy/rewards.hpp"
#include "sim/economy/selection.hpp"

namespace ledgerfl::contract {

using chain::Hash;
using economy::Account;
using economy::Amount;

// Why a submission was rejected (recorded on the ledger as the rejection log's reason code).
enum class Reject : std::uint8_t {
  kNone = 0,
  kLate,         // included after the round's deadline (or after it closed)
  kDuplicate,    // a second submission of the same participant in the round
  kNotSelected,  // the sender is not a participant of the round
  kNotBonded,    // the sender's bonded stake is below min_stake
  kWrongRound,   // for a round that is not the open one
  kMalformed,    // commitment or sample count invalid
  kStale,        // execute_on = "head": for a round opening that a reorg orphaned
};
std::string_view reject_name(Reject r);

// A decoded contract transaction (its ledger entry carries the hash of these fields).
struct Call {
  Op op = Op::kSubmit;
  Account sender = 0;
  std::int64_t round = 0;
  Amount amount = 0;               // register / top_up / unbond
  Hash commitment{};               // submit: SHA-256 of the update bytes; vote: result hash
  std::int64_t samples = 0;        // submit
  std::uint64_t proposal = 0;      // gov_vote
  bool yes = false;                // gov_vote
  std::string key, value;          // propose
  std::int64_t voting_rounds = 0;  // propose
  Account offender = 0;            // evidence: the equivocating validator's account
  std::int64_t height = 0;         // evidence: the chain height of the double-signed votes
  // execute_on = "head": the block the call refers to (submit: the block that opened its round;
  // vote: the block that closed it). Zero under "final" (and then not hashed, so the calls'
  // hashes are those of the final mode).
  Hash ref{};
};
Hash call_hash(const Call& c);

// Parameters the contract enforces (the governable ones can change at a round boundary).
struct ContractParams {
  std::size_t clients = 0;      // client identities: accounts [0, clients)
  std::size_t validators = 0;   // validator accounts [clients, clients + validators)
  std::int64_t rounds = 10;     // the run ends after this many finalized rounds
  std::size_t per_round = 10;   // K
  double over_selection = 0.0;  // select ceil(K (1 + x))
  core::SimTime deadline = core::SimTime::s(600);      // submission window
  core::SimTime vote_timeout = core::SimTime::s(600);  // after closing, for the votes
  std::size_t committee = 0;                           // validators on the committee (0 = all)
  double quorum = 2.0 / 3.0;                           // > quorum of committee stake finalizes
  Amount min_stake = 100;                              // governable
  std::int64_t unbonding_rounds = 2;                   // unbond delay in rounds
  double slash_dissent = 0.1;                          // fraction of stake
  double slash_unavailable = 0.1;
  double slash_equivocation = 0.5;  // of a validator's bond, once per (validator, height)
  economy::SlashTo slash_to = economy::SlashTo::kBurn;
  Amount reward_per_round = 1000;  // governable: minted each finalized round
  double reward_decay = 0.0;       // geometric decay per round
  Amount task_fee = 0;             // paid by the requester each round
  double validator_share = 0.1;    // of the pool, to agreeing committee members
  std::string aggregator;          // governable (recorded; the learner applies it)
  double gov_quorum = 0.33;        // turnout of bonded stake a proposal needs
  // execute_on = "head": the contract runs on the optimistic head and may be reverted, so a
  // submission must name the block that opened its round and a vote the block that closed it;
  // a submission for another opening is rejected (kStale), a vote for another closing ignored.
  bool head = false;
};

// Events the contract emits while executing a block; the coordinator acts on them.
struct RoundOpened {
  std::int64_t round;
  Hash randomness;
  std::vector<Account> participants;  // sorted
  core::SimTime deadline;
};
struct RoundClosed {
  std::int64_t round;
  std::vector<Account> committee;  // validator accounts, sorted
  std::vector<Account> included;   // accepted submitters, sorted
  core::SimTime vote_deadline;
  Hash closing_block{};  // the hash of the block that closed the round
};
struct RoundFinalized {
  std::int64_t round;
  bool failed = false;  // no quorum by the vote deadline: model unchanged
  Hash result{};        // the finalized hash
  std::vector<Account> dissenters;
};

// What the committee's honest computation reports for a round (the coordinator computes it
// once; each honest member votes its hash): the result hash and the per-submitter scores and
// availability, which the contract uses at finalization.
struct RoundReport {
  Hash model{};                         // SHA-256 of the aggregated model's bytes
  std::vector<Account> included;        // the accepted submitters (sorted)
  std::vector<double> scores;           // their contribution scores
  std::vector<std::uint8_t> available;  // 0 = the committee could not fetch the update
  Hash hash() const;                    // what honest members vote on
};

// A value type: copying it copies the whole state (the reputation is cloned, the stateless
// selection policy shared), which is how execute_on = "head" snapshots the state before each
// block it executes and restores it on a reorg.
class LearningContract {
 public:
  LearningContract(ContractParams params, std::unique_ptr<economy::SelectionPolicy> selection,
                   std::unique_ptr<economy::Reputation> reputation, std::uint64_t seed);
  LearningContract(const LearningContract& o);
  LearningContract& operator=(const LearningContract& o);
  LearningContract(LearningContract&&) = default;
  LearningContract& operator=(LearningContract&&) = default;

  // Genesis: mints balances and bonds validator stake (before any block).
  void genesis(std::span<const Amount> client_balances, Amount validator_stake,
               Amount requester_balance);

  struct Observer {
    std::function<void(const RoundOpened&)> opened;
    std::function<void(const RoundClosed&)> closed;
    std::function<void(const RoundFinalized&)> finalized;
    std::function<void(Account, std::int64_t round, Reject)> rejected;
    std::function<void(const economy::Proposal&)> enacted;
  };
  void set_observer(Observer o) { obs_ = std::move(o); }

  // Executes one block: `calls` in block order, then the time-driven transitions at the block's
  // timestamp. `block_hash` keys the round's randomness.
  void execute_block(const Hash& block_hash, core::SimTime timestamp,
                     std::span<const Call* const> calls);
  // The committee's report for the round being voted on (set before its votes execute).
  void set_report(std::int64_t round, RoundReport report);

  // State.
  std::int64_t round() const { return round_; }
  // 0 registering, 1 open (submissions), 2 voting.
  int phase() const { return static_cast<int>(phase_); }
  bool done() const { return finalized_rounds_ >= params_.rounds; }
  const ContractParams& params() const { return params_; }
  const economy::TokenLedger& tokens() const { return tokens_; }
  economy::TokenLedger& tokens() { return tokens_; }
  const economy::Reputation& reputation() const { return *reputation_; }
  Account requester() const { return static_cast<Account>(params_.clients + params_.validators); }
  Account validator_account(std::size_t v) const {
    return static_cast<Account>(params_.clients + v);
  }
  bool registered(Account a) const { return a < registered_.size() && registered_[a]; }
  Hash state_digest() const;
  // Per-round accounting since the last take (the coordinator's /rounds row).
  struct RoundBook {
    Amount minted = 0, burned = 0, rewards_paid = 0, slashed = 0;
    std::int64_t rejected = 0, unavailable = 0;
    Amount equivocation_slashed = 0;  // by evidence transactions
    std::int64_t evidence_accepted = 0;
    std::vector<std::pair<Account, Amount>> rewards;  // (account, amount) of this round
    std::vector<std::pair<Account, Amount>> slashes;
    std::vector<std::pair<Account, double>> scores;
  };
  RoundBook take_book();
  std::int64_t finalized_rounds() const { return finalized_rounds_; }
  std::int64_t failed_rounds() const { return failed_rounds_; }
  // Equivocation offences slashed so far: (validator account, height) -> amount slashed.
  const std::map<std::pair<Account, std::int64_t>, Amount>& equivocations() const {
    return equivocations_;
  }
  std::int64_t pending_registrations = 0;  // registrations submitted but not yet executed

  // Quorum rule, public for tests: does `for_hash` of `total` committee stake finalize?
  // Strictly more than quorum x total (so exactly 2/3 does not finalize at quorum = 2/3).
  static bool reaches_quorum(Amount for_hash, Amount total, double quorum);

  economy::Governance& governance() { return gov_; }

 private:
  enum class Phase { kRegistering, kOpen, kVoting };
  void apply(const Call& c, core::SimTime t);
  void open_round(const Hash& randomness, core::SimTime t);
  void close_round(const Hash& randomness, core::SimTime t);
  void finalize(bool failed, const Hash& result, core::SimTime t);
  Amount slash(Account a, double fraction);
  void enact(const economy::Proposal& p);

  ContractParams params_;
  std::shared_ptr<const economy::SelectionPolicy> selection_;
  std::unique_ptr<economy::Reputation> reputation_;
  std::uint64_t seed_;
  economy::TokenLedger tokens_;
  economy::Governance gov_;
  Observer obs_;
  std::vector<std::uint8_t> registered_;

  Phase phase_ = Phase::kRegistering;
  std::int64_t round_ = 0;
  core::SimTime deadline_, vote_deadline_;
  Hash open_ref_{}, close_ref_{};        // the blocks that opened and closed the current round
  std::vector<Account> participants_;    // sorted
  std::map<Account, Hash> submissions_;  // accepted this round
  std::map<Account, std::int64_t> samples_;
  std::vector<Account> committee_;
  std::map<Account, Hash> votes_;
  std::map<std::int64_t, RoundReport> reports_;
  std::int64_t finalized_rounds_ = 0, failed_rounds_ = 0;
  std::map<std::pair<Account, std::int64_t>, Amount> equivocations_;
  Hash digest_{};
  RoundBook book_;
};

}  // namespace ledgerfl::contract
