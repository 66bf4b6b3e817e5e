// Reputation systems (registry "reputation"): a value in [0, 1] per account, updated from each
// round's contribution score and acceptance; it feeds the reputation-weighted selections.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "sim/economy/ledger.hpp"
#include "sim/scenario/registry.hpp"

namespace ledgerfl::economy {

// One observation per (round, participant): score in [0, 1] (the contribution score mapped to
// [0, 1] by the caller) and whether the update was accepted. A rejected update (malicious,
// unavailable, late) is a fully negative observation whatever its score. Accounts are dense
// ids 0..size()-1; resize(n) grows (new accounts start at the prior) or shrinks.
// update()/value() of an account >= size() and a score outside [0, 1] throw
// std::invalid_argument.
class Reputation {
 public:
  virtual ~Reputation() = default;
  virtual void update(Account a, double score, bool accepted) = 0;
  virtual double value(Account a) const = 0;
  virtual void resize(std::size_t n) = 0;
  virtual std::size_t size() const = 0;
  virtual std::unique_ptr<Reputation> clone() const = 0;  // the contract snapshots state
  virtual std::string_view name() const = 0;
};

// Beta reputation with forgetting (Josang & Ismail 2002, "The Beta Reputation System", 15th
// Bled eCommerce Conference: the rating as the mean of a beta PDF, and its forgetting factor):
// evidence r (positive) and s (negative) per observation, alpha <- lambda*alpha + r, beta <-
// lambda*beta + s, value = (alpha + 1) / (alpha + beta + 2) (the mean of Beta(alpha+1, beta+1)).
// Graded feedback: an accepted update gives r = score, s = 1 - score; a rejected one r = 0, s = 1.
// The prior (no evidence) is 0.5.
class BetaReputation final : public Reputation {
 public:
  explicit BetaReputation(double forgetting = 0.9, std::size_t n = 0);
  void update(Account a, double score, bool accepted) override;
  double value(Account a) const override;
  void resize(std::size_t n) override;
  std::size_t size() const override { return alpha_.size(); }
  std::unique_ptr<Reputation> clone() const override;
  std::string_view name() const override { return "beta"; }
  double alpha(Account a) const;
  double beta(Account a) const;

 private:
  double lambda_;
  std::vector<double> alpha_, beta_;
};

// Exponential moving average of scores: value <- (1 - gamma) value + gamma * x with
// x = score if accepted, else 0; every account starts at `initial`.
class EmaReputation final : public Reputation {
 public:
  explicit EmaReputation(double gamma = 0.3, double initial = 0.5, std::size_t n = 0);
  void update(Account a, double score, bool accepted) override;
  double value(Account a) const override;
  void resize(std::size_t n) override;
  std::size_t size() const override { return value_.size(); }
  std::unique_ptr<Reputation> clone() const override;
  std::string_view name() const override { return "ema"; }

 private:
  double gamma_, initial_;
  std::vector<double> value_;
};

using ReputationFactory = std::function<std::unique_ptr<Reputation>(const scenario::ParamView&)>;
using ReputationRegistry = scenario::Registry<ReputationFactory>;

// beta, ema.
void register_builtin_reputation(ReputationRegistry& reg);

}  // namespace ledgerfl::economy
