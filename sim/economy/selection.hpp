// Participant selection policies (registry "selection"): who trains in a contract round.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "sim/core/rng.hpp"
#include "sim/economy/ledger.hpp"
#include "sim/scenario/registry.hpp"

namespace ledgerfl::economy {

struct Candidate {
  Account id;
  double stake;       // bonded tokens (as a real number; >= 0)
  double reputation;  // in [0, 1] for the built-in reputations; >= 0
};

// A policy draws m distinct candidates with probabilities given by a per-candidate weight
// w_i >= 0, by weighted sampling without replacement (Efraimidis & Spirakis 2006, "Weighted
// random sampling with a reservoir", Inf. Process. Lett. 97(5), algorithm A-ES): candidate i
// gets the key u_i^(1/w_i), u_i uniform in (0, 1], and the m largest keys win. Keys are compared
// as log(u_i) / w_i (same order, no underflow for small weights). For m = 1 this picks i with
// probability w_i / sum(w); for m > 1 it is the successive-sampling scheme (draw one with
// probability proportional to weight, remove it, repeat).
//
// Contract: select() returns min(m, #positive-weight candidates) distinct positions into
// `candidates`, sorted ascending. A candidate with weight 0 is never chosen: if fewer than m
// have positive weight, fewer than m are returned (the caller sees the shortfall). One uniform
// is drawn per candidate, in position order, from `rng`; the same inputs and stream give the
// same result. Weights that are negative or not finite throw std::invalid_argument naming the
// candidate.
class SelectionPolicy {
 public:
  virtual ~SelectionPolicy() = default;
  virtual std::vector<std::size_t> select(std::span<const Candidate> candidates, std::size_t m,
                                          core::Rng& rng) const = 0;
  virtual std::string_view name() const = 0;
};

// A-ES over explicit weights (the building block of every policy; exposed for tests and for
// the contract's over-selection of committees).
std::vector<std::size_t> weighted_sample(std::span<const double> weights, std::size_t m,
                                         core::Rng& rng);

using SelectionFactory =
    std::function<std::unique_ptr<SelectionPolicy>(const scenario::ParamView&)>;
using SelectionRegistry = scenario::Registry<SelectionFactory>;

// uniform, stake, reputation, stake_reputation.
void register_builtin_selection(SelectionRegistry& reg);

}  // namespace ledgerfl::economy
