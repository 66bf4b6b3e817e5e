// Gini coefficient, profit by role and return on stake.
#include "sim/economy/summary.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>

namespace ledgerfl::economy {

double gini(std::span<const double> values) {
  const std::size_t n = values.size();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> x(values.begin(), values.end());
  for (std::size_t i = 0; i < n; ++i)
    if (!(x[i] >= 0.0) || !std::isfinite(x[i]))
      throw std::invalid_argument("gini: value " + std::to_string(i) + " = " +
                                  std::to_string(x[i]) + " must be finite and >= 0");
  std::sort(x.begin(), x.end());
  long double sum = 0.0L, weighted = 0.0L;
  for (std::size_t i = 0; i < n; ++i) {
    sum += x[i];
    weighted += (2.0L * static_cast<long double>(i + 1) - static_cast<long double>(n) - 1.0L) *
                static_cast<long double>(x[i]);
  }
  if (sum == 0.0L) return 0.0;  // all equal (zero)
  return static_cast<double>(weighted / (static_cast<long double>(n) * sum));
}

std::vector<RoleProfit> profit_by_role(std::span<const std::string> roles,
                                       std::span<const Amount> rewards,
                                       std::span<const Amount> slashed) {
  if (rewards.size() != roles.size() || slashed.size() != roles.size())
    throw std::invalid_argument("profit_by_role: " + std::to_string(roles.size()) + " roles, " +
                                std::to_string(rewards.size()) + " rewards, " +
                                std::to_string(slashed.size()) + " slashed amounts");
  std::map<std::string, RoleProfit> by;
  for (std::size_t i = 0; i < roles.size(); ++i) {
    RoleProfit& r = by[roles[i]];
    r.role = roles[i];
    ++r.members;
    r.rewards += rewards[i];
    r.slashed += slashed[i];
  }
  std::vector<RoleProfit> out;
  out.reserve(by.size());
  for (auto& [role, r] : by) out.push_back(std::move(r));
  return out;
}

double return_on_stake(Amount rewards, Amount slashed, Amount stake) {
  if (stake <= 0) return std::numeric_limits<double>::quiet_NaN();
  return (static_cast<double>(rewards) - static_cast<double>(slashed)) / static_cast<double>(stake);
}

}  // namespace ledgerfl::economy
