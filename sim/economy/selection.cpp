// Built-in selection policies; weighted sampling without replacement by Efraimidis & Spirakis
// 2006 (A-ES), keys compared in log space.
#include "sim/economy/selection.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace ledgerfl::economy {

std::vector<std::size_t> weighted_sample(std::span<const double> weights, std::size_t m,
                                         core::Rng& rng) {
  struct Key {
    double key;
    std::size_t pos;
  };
  std::vector<Key> keys;
  keys.reserve(weights.size());
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double w = weights[i];
    if (!(w >= 0.0) || !std::isfinite(w))
      throw std::invalid_argument("selection: candidate " + std::to_string(i) + " has weight " +
                                  std::to_string(w) + "; weights must be finite and >= 0");
    // Draw for every candidate, so one candidate's weight never shifts another's draw.
    const double u = 1.0 - rng.uniform();  // (0, 1]
    if (w > 0.0) keys.push_back({std::log(u) / w, i});
  }
  // Largest key first; equal keys (probability ~0, but u = 1 gives key 0 for any weight) go
  // to the lower position, so the order is total and platform-independent.
  auto better = [](const Key& a, const Key& b) {
    return a.key != b.key ? a.key > b.key : a.pos < b.pos;
  };
  const std::size_t k = std::min(m, keys.size());
  std::nth_element(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(k), keys.end(), better);
  std::vector<std::size_t> out;
  out.reserve(k);
  for (std::size_t i = 0; i < k; ++i) out.push_back(keys[i].pos);
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

enum class Weighting { kUniform, kStake, kReputation, kStakeReputation };

class WeightedPolicy final : public SelectionPolicy {
 public:
  WeightedPolicy(Weighting w, std::string_view name, double a = 1.0, double b = 1.0)
      : w_(w), name_(name), a_(a), b_(b) {}

  std::vector<std::size_t> select(std::span<const Candidate> c, std::size_t m,
                                  core::Rng& rng) const override {
    std::vector<double> w(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) {
      switch (w_) {
        case Weighting::kUniform:
          w[i] = 1.0;
          break;
        case Weighting::kStake:
          w[i] = c[i].stake;
          break;
        case Weighting::kReputation:
          w[i] = c[i].reputation;
          break;
        case Weighting::kStakeReputation:
          // pow(x, 0) = 1 for every x (C99 Annex F), so an exponent 0 drops that factor.
          w[i] = std::pow(c[i].stake, a_) * std::pow(c[i].reputation, b_);
          break;
      }
      if (w_ != Weighting::kUniform && (!(w[i] >= 0.0) || !std::isfinite(w[i])))
        throw std::invalid_argument(
            std::string("selection ") + std::string(name_) + ": candidate " +
            std::to_string(c[i].id) + " (stake " + std::to_string(c[i].stake) + ", reputation " +
            std::to_string(c[i].reputation) + ") has a weight that is negative or not finite");
    }
    return weighted_sample(w, m, rng);
  }
  std::string_view name() const override { return name_; }

 private:
  Weighting w_;
  std::string_view name_;
  double a_, b_;
};

}  // namespace

void register_builtin_selection(SelectionRegistry& reg) {
  reg.add({"uniform", "every candidate equally likely; m distinct, without replacement", {}},
          [](const scenario::ParamView&) {
            return std::make_unique<WeightedPolicy>(Weighting::kUniform, "uniform");
          });
  reg.add({"stake",
           "probability proportional to bonded stake (weighted sampling without replacement, "
           "Efraimidis & Spirakis 2006, A-ES)",
           {}},
          [](const scenario::ParamView&) {
            return std::make_unique<WeightedPolicy>(Weighting::kStake, "stake");
          });
  reg.add({"reputation",
           "probability proportional to reputation (Efraimidis & Spirakis 2006, A-ES)",
           {}},
          [](const scenario::ParamView&) {
            return std::make_unique<WeightedPolicy>(Weighting::kReputation, "reputation");
          });
  reg.add({"stake_reputation",
           "probability proportional to stake^a * reputation^b (Efraimidis & Spirakis 2006, "
           "A-ES)",
           {{"stake_exponent", "float", "1.0", "", "a >= 0; 0 ignores stake"},
            {"reputation_exponent", "float", "1.0", "", "b >= 0; 0 ignores reputation"}}},
          [](const scenario::ParamView& p) {
            const double a = p.number("stake_exponent", 1.0, scenario::Bounds::non_negative());
            const double b = p.number("reputation_exponent", 1.0, scenario::Bounds::non_negative());
            return std::make_unique<WeightedPolicy>(Weighting::kStakeReputation, "stake_reputation",
                                                    a, b);
          });
}

}  // namespace ledgerfl::economy
