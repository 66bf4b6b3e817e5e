// Beta reputation with forgetting (Josang & Ismail 2002) and an exponential moving average.
#include "sim/economy/reputation.hpp"

#include <stdexcept>
#include <string>

namespace ledgerfl::economy {

namespace {
void check_update(std::string_view who, Account a, std::size_t n, double score) {
  if (a >= n)
    throw std::invalid_argument(std::string(who) + " reputation: unknown account " +
                                std::to_string(a) + " (size " + std::to_string(n) + ")");
  if (!(score >= 0.0 && score <= 1.0))
    throw std::invalid_argument(std::string(who) + " reputation: score " + std::to_string(score) +
                                " of account " + std::to_string(a) + " is not in [0, 1]");
}
void check_read(std::string_view who, Account a, std::size_t n) {
  if (a >= n)
    throw std::invalid_argument(std::string(who) + " reputation: unknown account " +
                                std::to_string(a) + " (size " + std::to_string(n) + ")");
}
}  // namespace

BetaReputation::BetaReputation(double forgetting, std::size_t n)
    : lambda_(forgetting), alpha_(n, 0.0), beta_(n, 0.0) {
  if (!(forgetting >= 0.0 && forgetting <= 1.0))
    throw std::invalid_argument("beta reputation: forgetting = " + std::to_string(forgetting) +
                                " must be in [0, 1]");
}

void BetaReputation::update(Account a, double score, bool accepted) {
  check_update("beta", a, alpha_.size(), score);
  const double r = accepted ? score : 0.0;
  const double s = accepted ? 1.0 - score : 1.0;
  alpha_[a] = lambda_ * alpha_[a] + r;
  beta_[a] = lambda_ * beta_[a] + s;
}

double BetaReputation::value(Account a) const {
  check_read("beta", a, alpha_.size());
  return (alpha_[a] + 1.0) / (alpha_[a] + beta_[a] + 2.0);
}
double BetaReputation::alpha(Account a) const {
  check_read("beta", a, alpha_.size());
  return alpha_[a];
}
double BetaReputation::beta(Account a) const {
  check_read("beta", a, alpha_.size());
  return beta_[a];
}

void BetaReputation::resize(std::size_t n) {
  alpha_.resize(n, 0.0);
  beta_.resize(n, 0.0);
}

std::unique_ptr<Reputation> BetaReputation::clone() const {
  return std::make_unique<BetaReputation>(*this);
}

EmaReputation::EmaReputation(double gamma, double initial, std::size_t n)
    : gamma_(gamma), initial_(initial), value_(n, initial) {
  if (!(gamma >= 0.0 && gamma <= 1.0))
    throw std::invalid_argument("ema reputation: gamma = " + std::to_string(gamma) +
                                " must be in [0, 1]");
  if (!(initial >= 0.0 && initial <= 1.0))
    throw std::invalid_argument("ema reputation: initial = " + std::to_string(initial) +
                                " must be in [0, 1]");
}

void EmaReputation::update(Account a, double score, bool accepted) {
  check_update("ema", a, value_.size(), score);
  const double x = accepted ? score : 0.0;
  value_[a] = (1.0 - gamma_) * value_[a] + gamma_ * x;
}

double EmaReputation::value(Account a) const {
  check_read("ema", a, value_.size());
  return value_[a];
}

void EmaReputation::resize(std::size_t n) {
  value_.resize(n, initial_);
}

std::unique_ptr<Reputation> EmaReputation::clone() const {
  return std::make_unique<EmaReputation>(*this);
}

void register_builtin_reputation(ReputationRegistry& reg) {
  reg.add({"beta",
           "beta reputation (alpha+1)/(alpha+beta+2) with forgetting factor (Josang & Ismail "
           "2002)",
           {{"forgetting", "float", "0.9", "",
             "lambda in [0, 1]: weight of past evidence per update (1 = never forget)"}}},
          [](const scenario::ParamView& p) {
            return std::make_unique<BetaReputation>(
                p.number("forgetting", 0.9, scenario::Bounds::probability()));
          });
  reg.add({"ema",
           "exponential moving average of the scores (rejected updates count 0)",
           {{"gamma", "float", "0.3", "", "weight of the newest score, in [0, 1]"},
            {"initial", "float", "0.5", "", "value of an account with no history, in [0, 1]"}}},
          [](const scenario::ParamView& p) {
            const double g = p.number("gamma", 0.3, scenario::Bounds::probability());
            const double i = p.number("initial", 0.5, scenario::Bounds::probability());
            return std::make_unique<EmaReputation>(g, i);
          });
}

}  // namespace ledgerfl::economy
