// TokenLedger: integer token accounting with bonded stake, an unbonding queue and slashing.
#include "sim/economy/ledger.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace ledgerfl::economy {

namespace {
std::string acct(Account a) {
  return "account " + std::to_string(a);
}

void require_non_negative(const char* op, Account a, Amount x) {
  if (x < 0)
    throw EconomyError(std::string(op) + ": negative amount " + std::to_string(x) + " for " +
                       acct(a));
}

void require_funds(const char* op, Account a, const char* what, Amount have, Amount need) {
  if (have < need)
    throw EconomyError(std::string(op) + ": " + acct(a) + " has " + std::to_string(have) + " " +
                       what + ", needs " + std::to_string(need));
}
}  // namespace

const char* to_string(SlashTo to) {
  return to == SlashTo::kBurn ? "burn" : "treasury";
}

SlashTo parse_slash_to(const std::string& s) {
  if (s == "burn") return SlashTo::kBurn;
  if (s == "treasury") return SlashTo::kTreasury;
  throw std::invalid_argument("slashed tokens go to \"" + s +
                              "\"; expected \"burn\" or \"treasury\"");
}

TokenLedger::TokenLedger(std::size_t accounts)
    : balance_(accounts, 0), bonded_(accounts, 0), unbonding_(accounts, 0) {}

Account TokenLedger::add_account() {
  if (balance_.size() >= std::numeric_limits<Account>::max())
    throw EconomyError("add_account: account ids exhausted");
  balance_.push_back(0);
  bonded_.push_back(0);
  unbonding_.push_back(0);
  return static_cast<Account>(balance_.size() - 1);
}

void TokenLedger::check_account(const char* op, Account a) const {
  if (a >= balance_.size())
    throw EconomyError(std::string(op) + ": unknown " + acct(a) + " (ledger has " +
                       std::to_string(balance_.size()) + " accounts)");
}

Amount TokenLedger::balance(Account a) const {
  check_account("balance", a);
  return balance_[a];
}
Amount TokenLedger::bonded(Account a) const {
  check_account("bonded", a);
  return bonded_[a];
}
Amount TokenLedger::unbonding(Account a) const {
  check_account("unbonding", a);
  return unbonding_[a];
}

Amount TokenLedger::total_bonded() const {
  Amount s = 0;
  for (Amount b : bonded_) s += b;
  return s;
}

Amount TokenLedger::total_supply() const {
  // Every holding is <= minted() - burned() <= INT64_MAX while the ledger is intact; sum in
  // unsigned arithmetic so that a corrupted state reports a wrong total instead of overflowing.
  std::uint64_t s = static_cast<std::uint64_t>(treasury_);
  for (std::size_t i = 0; i < balance_.size(); ++i)
    s += static_cast<std::uint64_t>(balance_[i]) + static_cast<std::uint64_t>(bonded_[i]) +
         static_cast<std::uint64_t>(unbonding_[i]);
  return static_cast<Amount>(s);
}

void TokenLedger::mint(Account a, Amount x) {
  check_account("mint", a);
  require_non_negative("mint", a, x);
  if (x > std::numeric_limits<Amount>::max() - minted_)
    throw EconomyError("mint: minting " + std::to_string(x) + " to " + acct(a) +
                       " overflows the 64-bit supply (minted so far " + std::to_string(minted_) +
                       ")");
  balance_[a] += x;
  minted_ += x;
}

void TokenLedger::mint_to_treasury(Amount x) {
  if (x < 0) throw EconomyError("mint_to_treasury: negative amount " + std::to_string(x));
  if (x > std::numeric_limits<Amount>::max() - minted_)
    throw EconomyError("mint_to_treasury: minting " + std::to_string(x) +
                       " overflows the 64-bit supply (minted so far " + std::to_string(minted_) +
                       ")");
  treasury_ += x;
  minted_ += x;
}

void TokenLedger::burn(Account a, Amount x) {
  check_account("burn", a);
  require_non_negative("burn", a, x);
  require_funds("burn", a, "balance", balance_[a], x);
  balance_[a] -= x;
  burned_ += x;
}

void TokenLedger::transfer(Account from, Account to, Amount x) {
  check_account("transfer", from);
  check_account("transfer", to);
  require_non_negative("transfer", from, x);
  require_funds("transfer", from, "balance", balance_[from], x);
  balance_[from] -= x;
  balance_[to] += x;
}

void TokenLedger::bond(Account a, Amount x) {
  check_account("bond", a);
  require_non_negative("bond", a, x);
  require_funds("bond", a, "balance", balance_[a], x);
  balance_[a] -= x;
  bonded_[a] += x;
}

void TokenLedger::unbond(Account a, Amount x, std::int64_t release_round) {
  check_account("unbond", a);
  require_non_negative("unbond", a, x);
  require_funds("unbond", a, "bonded", bonded_[a], x);
  if (x == 0) return;
  Unbonding e{release_round, next_seq_++, a, x};
  // Usually release_round = now + a fixed delay, so the entry goes at the back.
  auto pos = std::upper_bound(queue_.begin(), queue_.end(), e, [](const auto& l, const auto& r) {
    return l.release_round != r.release_round ? l.release_round < r.release_round : l.seq < r.seq;
  });
  queue_.insert(pos, e);
  bonded_[a] -= x;
  unbonding_[a] += x;
}

Amount TokenLedger::release_due(std::int64_t round) {
  Amount total = 0;
  while (!queue_.empty() && queue_.front().release_round <= round) {
    const Unbonding& e = queue_.front();
    unbonding_[e.account] -= e.amount;
    balance_[e.account] += e.amount;
    total += e.amount;
    queue_.pop_front();
  }
  return total;
}

Amount TokenLedger::slash(Account a, double fraction, SlashTo to) {
  check_account("slash", a);
  if (!(fraction >= 0.0 && fraction <= 1.0))
    throw EconomyError("slash: fraction " + std::to_string(fraction) + " for " + acct(a) +
                       " is not in [0, 1]");
  const Amount base = bonded_[a] + unbonding_[a];
  // long double keeps the product exact enough for amounts up to 2^63 on x86-64 (64-bit
  // mantissa); the clamp guards the other platforms.
  Amount x = static_cast<Amount>(
      std::floor(static_cast<long double>(fraction) * static_cast<long double>(base)));
  x = std::clamp<Amount>(x, 0, base);
  Amount left = x;
  const Amount from_bonded = std::min(left, bonded_[a]);
  bonded_[a] -= from_bonded;
  left -= from_bonded;
  for (auto& e : queue_) {
    if (left == 0) break;
    if (e.account != a || e.amount == 0) continue;
    const Amount take = std::min(left, e.amount);
    e.amount -= take;
    unbonding_[a] -= take;
    left -= take;
  }
  if (to == SlashTo::kBurn)
    burned_ += x;
  else
    treasury_ += x;
  return x;
}

void TokenLedger::pay_from_treasury(Account a, Amount x) {
  check_account("pay_from_treasury", a);
  require_non_negative("pay_from_treasury", a, x);
  if (treasury_ < x)
    throw EconomyError("pay_from_treasury: treasury has " + std::to_string(treasury_) + ", needs " +
                       std::to_string(x) + " for " + acct(a));
  treasury_ -= x;
  balance_[a] += x;
}

void TokenLedger::deposit_to_treasury(Account a, Amount x) {
  check_account("deposit_to_treasury", a);
  require_non_negative("deposit_to_treasury", a, x);
  require_funds("deposit_to_treasury", a, "balance", balance_[a], x);
  balance_[a] -= x;
  treasury_ += x;
}

void TokenLedger::check_supply() const {
  // The per-account unbonding totals are a cache of the queue: recompute them, and check that
  // no holding went negative, before comparing the sums.
  std::vector<Amount> queued(unbonding_.size(), 0);
  for (const auto& e : queue_) {
    if (e.account >= queued.size() || e.amount < 0)
      throw SupplyViolation("token supply violated: unbonding entry of account " +
                            std::to_string(e.account) + " holds " + std::to_string(e.amount));
    queued[e.account] += e.amount;
  }
  for (std::size_t a = 0; a < balance_.size(); ++a) {
    if (queued[a] != unbonding_[a])
      throw SupplyViolation("token supply violated: the unbonding queue holds " +
                            std::to_string(queued[a]) + " for account " + std::to_string(a) +
                            " but the account records " + std::to_string(unbonding_[a]));
    if (balance_[a] < 0 || bonded_[a] < 0)
      throw SupplyViolation("token supply violated: account " + std::to_string(a) +
                            " has balance " + std::to_string(balance_[a]) + " and bonded " +
                            std::to_string(bonded_[a]));
  }
  if (treasury_ < 0)
    throw SupplyViolation("token supply violated: treasury holds " + std::to_string(treasury_));
  const Amount supply = total_supply();
  const Amount expected = minted_ - burned_;
  if (supply != expected)
    throw SupplyViolation("token supply violated: holdings sum to " + std::to_string(supply) +
                          " but minted - burned = " + std::to_string(minted_) + " - " +
                          std::to_string(burned_) + " = " + std::to_string(expected) +
                          " (difference " + std::to_string(supply - expected) + ")");
}

}  // namespace ledgerfl::economy
