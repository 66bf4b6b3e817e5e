// Economic summaries of a run: Gini coefficient of rewards, profit by role, return on stake.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "sim/economy/ledger.hpp"

namespace ledgerfl::economy {

// Gini coefficient by the mean difference (Gini 1912):
//     G = sum_i sum_j |x_i - x_j| / (2 n^2 mean),
// computed from the sorted values as sum_i (2i - n - 1) x_(i) / (n sum x) (i = 1..n).
// 0 when all values are equal (all zero included); (n - 1)/n when one holder has everything;
// NaN for an empty input. Values must be >= 0 and finite (std::invalid_argument otherwise).
double gini(std::span<const double> values);

struct RoleProfit {
  std::string role;
  std::size_t members = 0;  // participants with this role
  Amount rewards = 0, slashed = 0;
  Amount profit() const { return rewards - slashed; }
};

// Sums rewards and slashed tokens per role (roles[i] is participant i's role, e.g. "honest",
// "malicious", "lazy"); one entry per distinct role, sorted by role name. The three spans must
// have the same length (std::invalid_argument otherwise).
std::vector<RoleProfit> profit_by_role(std::span<const std::string> roles,
                                       std::span<const Amount> rewards,
                                       std::span<const Amount> slashed);

// (rewards - slashed) / stake; NaN for stake <= 0.
double return_on_stake(Amount rewards, Amount slashed, Amount stake);

}  // namespace ledgerfl::economy
