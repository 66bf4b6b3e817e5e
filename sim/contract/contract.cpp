#include "sim/contract/contract.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "sim/core/rng.hpp"

namespace ledgerfl::contract {

std::string_view reject_name(Reject r) {
  switch (r) {
    case Reject::kNone:
      return "none";
    case Reject::kLate:
      return "late";
    case Reject::kDuplicate:
      return "duplicate";
    case Reject::kNotSelected:
      return "not_selected";
    case Reject::kNotBonded:
      return "not_bonded";
    case Reject::kWrongRound:
      return "wrong_round";
    case Reject::kMalformed:
      return "malformed";
    case Reject::kStale:
      return "stale";
  }
  return "?";
}

Hash call_hash(const Call& c) {
  chain::Encoder e;
  e.u64(static_cast<std::uint64_t>(c.op))
      .u64(c.sender)
      .i64(c.round)
      .i64(c.amount)
      .hash(c.commitment)
      .i64(c.samples)
      .u64(c.proposal)
      .u64(c.yes ? 1 : 0)
      .i64(c.voting_rounds);
  // Evidence fields only for evidence calls (the other calls' hashes stay what they were).
  if (c.op == Op::kEvidence) e.u64(c.offender).i64(c.height);
  // The referenced block only under execute_on = "head" (zero otherwise: the final mode's
  // hashes stay what they were).
  if (c.ref != Hash{}) e.hash(c.ref);
  Hash h = e.digest();
  if (!c.key.empty() || !c.value.empty()) {
    std::vector<std::uint8_t> b(h.begin(), h.end());
    b.insert(b.end(), c.key.begin(), c.key.end());
    b.push_back(0);
    b.insert(b.end(), c.value.begin(), c.value.end());
    h = chain::sha256(b);
  }
  return h;
}

Hash RoundReport::hash() const {
  std::vector<std::uint8_t> b(model.begin(), model.end());
  auto put = [&b](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  for (std::size_t i = 0; i < included.size(); ++i) {
    put(included[i]);
    std::uint64_t bits = 0;
    const double s = i < scores.size() ? scores[i] : 0.0;
    std::memcpy(&bits, &s, 8);
    put(bits);
    put(i < available.size() ? available[i] : 1);
  }
  return chain::sha256(b);
}

bool LearningContract::reaches_quorum(Amount for_hash, Amount total, double quorum) {
  // Integer-exact for the default 2/3: 3 x for > 2 x total.
  if (quorum == 2.0 / 3.0)
    return 3 * static_cast<__int128>(for_hash) > 2 * static_cast<__int128>(total);
  return static_cast<double>(for_hash) > quorum * static_cast<double>(total);
}

LearningContract::LearningContract(ContractParams params,
                                   std::unique_ptr<economy::SelectionPolicy> selection,
                                   std::unique_ptr<economy::Reputation> reputation,
                                   std::uint64_t seed)
    : params_(std::move(params)),
      selection_(std::move(selection)),
      reputation_(std::move(reputation)),
      seed_(seed),
      tokens_(params_.clients + params_.validators + 1) {
  registered_.assign(params_.clients, 0);
  reputation_->resize(params_.clients);
}

LearningContract::LearningContract(const LearningContract& o)
    : params_(o.params_),
      selection_(o.selection_),
      reputation_(o.reputation_->clone()),
      seed_(o.seed_),
      tokens_(o.tokens_),
      gov_(o.gov_),
      obs_(o.obs_),
      registered_(o.registered_),
      phase_(o.phase_),
      round_(o.round_),
      deadline_(o.deadline_),
      vote_deadline_(o.vote_deadline_),
      open_ref_(o.open_ref_),
      close_ref_(o.close_ref_),
      participants_(o.participants_),
      submissions_(o.submissions_),
      samples_(o.samples_),
      committee_(o.committee_),
      votes_(o.votes_),
      reports_(o.reports_),
      finalized_rounds_(o.finalized_rounds_),
      failed_rounds_(o.failed_rounds_),
      equivocations_(o.equivocations_),
      digest_(o.digest_),
      book_(o.book_) {
  pending_registrations = o.pending_registrations;
}

LearningContract& LearningContract::operator=(const LearningContract& o) {
  if (this != &o) {
    LearningContract copy(o);
    *this = std::move(copy);
  }
  return *this;
}

void LearningContract::genesis(std::span<const Amount> client_balances, Amount validator_stake,
                               Amount requester_balance) {
  for (std::size_t c = 0; c < params_.clients && c < client_balances.size(); ++c)
    if (client_balances[c] > 0) tokens_.mint(static_cast<Account>(c), client_balances[c]);
  for (std::size_t v = 0; v < params_.validators; ++v) {
    if (validator_stake <= 0) continue;
    tokens_.mint(validator_account(v), validator_stake);
    tokens_.bond(validator_account(v), validator_stake);
  }
  if (requester_balance > 0) tokens_.mint(requester(), requester_balance);
  book_ = RoundBook{};
}

Hash LearningContract::state_digest() const {
  return digest_;
}

LearningContract::RoundBook LearningContract::take_book() {
  RoundBook b = std::move(book_);
  book_ = RoundBook{};
  return b;
}

void LearningContract::set_report(std::int64_t round, RoundReport report) {
  reports_[round] = std::move(report);
}

Amount LearningContract::slash(Account a, double fraction) {
  const Amount before_burn = tokens_.burned();
  const Amount x = tokens_.slash(a, fraction, params_.slash_to);
  book_.slashed += x;
  book_.burned += tokens_.burned() - before_burn;
  if (x > 0) book_.slashes.emplace_back(a, x);
  return x;
}

void LearningContract::apply(const Call& c, core::SimTime t) {
  const Account a = c.sender;
  switch (c.op) {
    case Op::kRegister:
      --pending_registrations;
      if (a >= params_.clients || registered_[a]) return;
      if (tokens_.balance(a) < c.amount || c.amount <= 0) return;
      tokens_.bond(a, c.amount);
      registered_[a] = 1;
      return;
    case Op::kTopUp:
      if (a < params_.clients && registered_[a] && c.amount > 0 && tokens_.balance(a) >= c.amount)
        tokens_.bond(a, c.amount);
      return;
    case Op::kUnbond:
      if (a < params_.clients && registered_[a] && c.amount > 0 && tokens_.bonded(a) >= c.amount)
        tokens_.unbond(a, c.amount, round_ + params_.unbonding_rounds);
      return;
    case Op::kSubmit: {
      Reject why = Reject::kNone;
      if (phase_ != Phase::kOpen || c.round != round_)
        why = c.round < round_ || (c.round == round_ && phase_ != Phase::kOpen)
                  ? Reject::kLate
                  : Reject::kWrongRound;
      else if (params_.head && c.ref != open_ref_)
        why = Reject::kStale;  // trained for an opening (and model version) a reorg orphaned
      else if (t > deadline_)
        why = Reject::kLate;
      else if (!std::binary_search(participants_.begin(), participants_.end(), a))
        why = Reject::kNotSelected;
      else if (tokens_.bonded(a) < params_.min_stake)
        why = Reject::kNotBonded;
      else if (submissions_.count(a))
        why = Reject::kDuplicate;
      else if (submissions_.size() >= params_.per_round)
        why = Reject::kLate;  // the round already holds its K updates (over-selection)
      else if (c.samples <= 0 || c.commitment == Hash{})
        why = Reject::kMalformed;
      if (why != Reject::kNone) {
        ++book_.rejected;
        if (obs_.rejected) obs_.rejected(a, c.round, why);
        return;
      }
      submissions_[a] = c.commitment;
      samples_[a] = c.samples;
      return;
    }
    case Op::kVote:
      if (phase_ != Phase::kVoting || c.round != round_) return;
      if (!std::binary_search(committee_.begin(), committee_.end(), a)) return;
      if (params_.head && c.ref != close_ref_) return;  // a vote on an orphaned closing
      votes_.emplace(a, c.commitment);                  // first vote counts
      return;
    case Op::kPropose:  // votes count from this round for voting_rounds rounds
      if (!c.key.empty() && c.voting_rounds >= 1)
        gov_.propose(c.key, c.value, std::max<std::int64_t>(round_, 1), c.voting_rounds);
      return;
    case Op::kGovVote:
      gov_.vote(c.proposal, a, c.yes, tokens_.bonded(a), round_);
      return;
    case Op::kEvidence: {
      // Duplicate-vote evidence, submitted by a validator against another: the offender's bond
      // is slashed by slash_equivocation once per (validator, height), however many votes or
      // holders the evidence names (CometBFT: one DuplicateVoteEvidence per height is punished).
      const auto is_validator = [&](Account x) {
        return x >= params_.clients && x < params_.clients + params_.validators;
      };
      if (!is_validator(a) || !is_validator(c.offender) || a == c.offender || c.height <= 0) return;
      const auto [it, fresh] = equivocations_.try_emplace({c.offender, c.height}, 0);
      if (!fresh) return;
      it->second = slash(c.offender, params_.slash_equivocation);
      book_.equivocation_slashed += it->second;
      ++book_.evidence_accepted;
      return;
    }
  }
}

void LearningContract::open_round(const Hash& randomness, core::SimTime t) {
  ++round_;
  phase_ = Phase::kOpen;
  open_ref_ = randomness;
  submissions_.clear();
  samples_.clear();
  votes_.clear();
  committee_.clear();
  tokens_.release_due(round_);
  std::vector<economy::Candidate> cands;
  for (std::size_t c = 0; c < params_.clients; ++c) {
    const Account a = static_cast<Account>(c);
    if (!registered_[c] || tokens_.bonded(a) < params_.min_stake) continue;
    cands.push_back({a, static_cast<double>(tokens_.bonded(a)), reputation_->value(a)});
  }
  const auto m = static_cast<std::size_t>(
      std::ceil(static_cast<double>(params_.per_round) * (1.0 + params_.over_selection) - 1e-9));
  std::uint64_t key = 0;
  std::memcpy(&key, randomness.data(), 8);
  core::Rng rng(seed_ ^ key, "contract.select", 0, static_cast<std::uint64_t>(round_));
  participants_.clear();
  for (std::size_t pos : selection_->select(cands, std::min(m, cands.size()), rng))
    participants_.push_back(cands[pos].id);
  std::sort(participants_.begin(), participants_.end());
  deadline_ = t + params_.deadline;
  if (obs_.opened) obs_.opened(RoundOpened{round_, randomness, participants_, deadline_});
}

void LearningContract::close_round(const Hash& randomness, core::SimTime t) {
  phase_ = Phase::kVoting;
  vote_deadline_ = t + params_.vote_timeout;
  close_ref_ = randomness;
  std::vector<economy::Candidate> vals;
  for (std::size_t v = 0; v < params_.validators; ++v) {
    const Account a = validator_account(v);
    if (tokens_.bonded(a) > 0) vals.push_back({a, static_cast<double>(tokens_.bonded(a)), 1.0});
  }
  const std::size_t size =
      params_.committee == 0 ? vals.size() : std::min(params_.committee, vals.size());
  std::uint64_t key = 0;
  std::memcpy(&key, randomness.data(), 8);
  core::Rng rng(seed_ ^ key, "contract.committee", 0, static_cast<std::uint64_t>(round_));
  committee_.clear();
  if (size == vals.size()) {
    for (const auto& c : vals) committee_.push_back(c.id);
  } else {
    std::vector<double> w;
    for (const auto& c : vals) w.push_back(c.stake);
    for (std::size_t pos : economy::weighted_sample(w, size, rng))
      committee_.push_back(vals[pos].id);
  }
  std::sort(committee_.begin(), committee_.end());
  std::vector<Account> included;
  for (const auto& [a, h] : submissions_) included.push_back(a);
  if (obs_.closed)
    obs_.closed(RoundClosed{round_, committee_, included, vote_deadline_, randomness});
}

void LearningContract::finalize(bool failed, const Hash& result, core::SimTime) {
  RoundFinalized f{round_, failed, result, {}};
  if (!failed) {
    ++finalized_rounds_;
    const auto it = reports_.find(round_);
    const RoundReport* rep = it == reports_.end() ? nullptr : &it->second;
    const bool honest = rep && rep->hash() == result;
    // Rewards: the round's pool (emission + task fee) split by contribution score among the
    // included submitters, a validator_share to the committee members who voted the result.
    const Amount emission = static_cast<Amount>(std::floor(
        static_cast<double>(params_.reward_per_round) *
        std::pow(1.0 - params_.reward_decay, static_cast<double>(finalized_rounds_ - 1))));
    Amount pool = emission;
    if (emission > 0) {
      tokens_.mint(requester(), emission);
      book_.minted += emission;
    }
    const Amount fee = std::min(params_.task_fee, tokens_.balance(requester()) - emission);
    if (fee > 0) pool += fee;
    std::vector<Account> agreeing;
    for (const auto& [v, h] : votes_)
      if (h == result)
        agreeing.push_back(v);
      else
        f.dissenters.push_back(v);
    const Amount to_validators =
        agreeing.empty()
            ? 0
            : static_cast<Amount>(std::floor(static_cast<double>(pool) * params_.validator_share));
    const Amount to_clients = pool - to_validators;
    auto pay = [&](Account a, Amount x) {
      if (x <= 0) return;
      tokens_.transfer(requester(), a, x);
      book_.rewards_paid += x;
      book_.rewards.emplace_back(a, x);
    };
    if (honest && !rep->included.empty()) {
      std::vector<double> scores;
      std::vector<Account> who;
      for (std::size_t i = 0; i < rep->included.size(); ++i) {
        const bool avail = i >= rep->available.size() || rep->available[i];
        book_.scores.emplace_back(rep->included[i], rep->scores[i]);
        if (!avail) {
          ++book_.unavailable;
          slash(rep->included[i], params_.slash_unavailable);
          reputation_->update(rep->included[i], 0.0, false);
          continue;
        }
        who.push_back(rep->included[i]);
        scores.push_back(rep->scores[i]);
      }
      const std::vector<Amount> shares = economy::split_rewards(to_clients, scores);
      for (std::size_t i = 0; i < who.size(); ++i) pay(who[i], shares[i]);
      // Reputation: scores mapped to [0, 1] by their rank among the round's (a score's scale
      // differs between rules; the rank does not).
      for (std::size_t i = 0; i < who.size(); ++i) {
        std::size_t below = 0;
        for (double s : scores) below += s < scores[i];
        const double q = who.size() > 1 ? static_cast<double>(below) / (who.size() - 1) : 1.0;
        reputation_->update(who[i], q, true);
      }
    }
    if (!agreeing.empty()) {
      const std::vector<double> eq(agreeing.size(), 1.0);
      const std::vector<Amount> shares = economy::split_rewards(to_validators, eq);
      for (std::size_t i = 0; i < agreeing.size(); ++i) pay(agreeing[i], shares[i]);
    }
    for (Account v : f.dissenters) slash(v, params_.slash_dissent);
  } else {
    ++failed_rounds_;
    ++finalized_rounds_;  // a failed round still ends the round (the run counts rounds)
  }
  reports_.erase(round_);
  tokens_.check_supply();
  // Proposals whose voting ended with this round (votes count in [opened, closes)) are decided
  // at this boundary.
  const std::int64_t ended = round_;
  for (const economy::Proposal& p :
       gov_.close_due(ended + 1, tokens_.total_bonded(), params_.gov_quorum))
    if (p.enacted) enact(p);
  if (obs_.finalized) obs_.finalized(f);
}

void LearningContract::enact(const economy::Proposal& p) {
  try {
    if (p.key == "min_stake")
      params_.min_stake = std::stoll(p.value);
    else if (p.key == "reward_per_round")
      params_.reward_per_round = std::stoll(p.value);
    else if (p.key == "quorum")
      params_.quorum = std::stod(p.value);
    else if (p.key == "aggregator")
      params_.aggregator = p.value;
    else
      return;
  } catch (const std::exception&) {
    return;  // a malformed value is not enacted (checked when the scenario is read)
  }
  if (obs_.enacted) obs_.enacted(p);
}

void LearningContract::execute_block(const Hash& block_hash, core::SimTime t,
                                     std::span<const Call* const> calls) {
  chain::Encoder e;
  e.hash(digest_).hash(block_hash);
  for (const Call* c : calls) {
    apply(*c, t);
  }
  // Time- and count-driven transitions, at most one round step per block except that a
  // finalization opens the next round at once.
  if (phase_ == Phase::kRegistering && pending_registrations <= 0) open_round(block_hash, t);
  if (phase_ == Phase::kOpen &&
      (t > deadline_ || submissions_.size() >= std::min(params_.per_round, participants_.size()) ||
       participants_.empty()))
    close_round(block_hash, t);
  if (phase_ == Phase::kVoting) {
    Amount total = 0;
    std::map<Hash, Amount> tally;
    for (Account v : committee_) total += tokens_.bonded(v);
    for (const auto& [v, h] : votes_) tally[h] += tokens_.bonded(v);
    std::optional<Hash> winner;
    for (const auto& [h, x] : tally)
      if (reaches_quorum(x, total, params_.quorum)) winner = h;
    if (winner || t > vote_deadline_) {
      finalize(!winner, winner.value_or(Hash{}), t);
      if (!done()) open_round(block_hash, t);
    }
  }
  // The state digest: previous digest, the block, and the round's state.
  e.i64(round_).i64(static_cast<std::int64_t>(phase_)).i64(tokens_.total_supply());
  e.i64(static_cast<std::int64_t>(submissions_.size()))
      .i64(static_cast<std::int64_t>(votes_.size()));
  digest_ = e.digest();
}

}  // namespace ledgerfl::contract
