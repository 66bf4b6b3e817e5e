// The token ledger of the learning contract: balances, bonded stake, the unbonding queue, the
// treasury, and the supply invariant (total supply changes only by explicit mint and burn).
#pragma once

#include <cstdint>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

namespace ledgerfl::economy {

// Token amounts are integers (smallest unit), so conservation holds exactly.
using Amount = std::int64_t;
using Account = std::uint32_t;

// A precondition of a ledger operation failed (negative amount, unknown account, insufficient
// funds, overflow). The message names the operation, the account and the amounts.
class EconomyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// check_supply() found total_supply() != minted() - burned(): some state changed outside the
// mint/burn operations. A contract run treats it as a run failure (exit 1).
class SupplyViolation : public EconomyError {
 public:
  using EconomyError::EconomyError;
};

enum class SlashTo { kBurn, kTreasury };

// Where slashed tokens go, for scenario tables: "burn" | "treasury".
const char* to_string(SlashTo to);
SlashTo parse_slash_to(const std::string& s);  // throws std::invalid_argument naming the options

// Every account holds three amounts: a free balance, bonded stake, and stake in the unbonding
// queue (no longer bonded, not yet free, still slashable as in Cosmos' x/staking). The treasury
// is one extra holder that belongs to no account.
//
// Supply: every mint (including the genesis allocations) is counted in minted(), every burn in
// burned(). The invariant checked by check_supply() is
//     sum over accounts of (balance + bonded + unbonding) + treasury == minted() - burned().
// seal_genesis() only records how much was minted at genesis (genesis()), so the caller can
// report emission since genesis as minted() - genesis(); it does not change the invariant.
//
// A plain value type (vectors and a deque): copying it snapshots the whole economic state.
// Every operation either completes or throws EconomyError leaving the ledger unchanged.
class TokenLedger {
 public:
  explicit TokenLedger(std::size_t accounts = 0);

  Account add_account();
  std::size_t size() const { return balance_.size(); }

  Amount balance(Account a) const;
  Amount bonded(Account a) const;
  Amount unbonding(Account a) const;  // sum of a's entries in the unbonding queue
  Amount treasury() const { return treasury_; }
  Amount total_bonded() const;  // over all accounts (governance quorum, stake shares)
  // Recomputed from the holdings (O(accounts)), never from the counters, so that
  // check_supply() compares two independent sums.
  Amount total_supply() const;
  Amount minted() const { return minted_; }
  Amount burned() const { return burned_; }
  Amount genesis() const { return genesis_; }

  void mint(Account a, Amount x);   // new tokens -> a's balance
  void mint_to_treasury(Amount x);  // new tokens -> treasury
  void burn(Account a, Amount x);   // a's balance -> destroyed
  void transfer(Account from, Account to, Amount x);
  void bond(Account a, Amount x);  // balance -> bonded
  // bonded -> an unbonding entry that release_due() frees at release_round (or later).
  void unbond(Account a, Amount x, std::int64_t release_round);
  // Moves every entry with release_round <= round to its account's balance; returns the total.
  Amount release_due(std::int64_t round);
  // Takes floor(fraction * (bonded(a) + unbonding(a))) from a, bonded stake first, then a's
  // unbonding entries in queue order (earliest release first: what is about to leave pays
  // first), and burns it or credits the treasury. fraction in [0, 1]. Returns the amount.
  Amount slash(Account a, double fraction, SlashTo to);
  void pay_from_treasury(Account a, Amount x);    // treasury -> a's balance
  void deposit_to_treasury(Account a, Amount x);  // a's balance -> treasury (e.g. a task fee)

  void seal_genesis() { genesis_ = minted_; }
  // Throws SupplyViolation (with both sides of the equation) unless the invariant holds. Also
  // checks that every holding is >= 0 and that each account's unbonding total equals the sum
  // of its queue entries. O(accounts + queue).
  void check_supply() const;

  // One unbonding entry. seq orders entries of equal release_round by creation.
  struct Unbonding {
    std::int64_t release_round;
    std::uint64_t seq;
    Account account;
    Amount amount;
    bool operator==(const Unbonding&) const = default;
  };
  // The queue, sorted by (release_round, seq); entries slashed to zero may remain until released.
  const std::deque<Unbonding>& unbonding_queue() const { return queue_; }

  bool operator==(const TokenLedger&) const = default;

 private:
  friend struct TokenLedgerTestAccess;  // tests/economy: injects corruption to test check_supply
  void check_account(const char* op, Account a) const;

  std::vector<Amount> balance_, bonded_, unbonding_;
  std::deque<Unbonding> queue_;
  std::uint64_t next_seq_ = 0;
  Amount treasury_ = 0, minted_ = 0, burned_ = 0, genesis_ = 0;
};

}  // namespace ledgerfl::economy
