// Largest-remainder reward split and the emission schedule.
#include "sim/economy/rewards.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace ledgerfl::economy {

std::vector<Amount> split_rewards(Amount pool, std::span<const double> scores) {
  if (pool < 0) throw std::invalid_argument("split_rewards: negative pool " + std::to_string(pool));
  const std::size_t n = scores.size();
  if (n == 0) {
    if (pool != 0)
      throw std::invalid_argument("split_rewards: a pool of " + std::to_string(pool) +
                                  " cannot be split among no one");
    return {};
  }
  std::vector<long double> w(n);
  long double total = 0.0L;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(scores[i]))
      throw std::invalid_argument("split_rewards: score " + std::to_string(i) + " is NaN");
    w[i] = std::max(static_cast<long double>(scores[i]), 0.0L);
    total += w[i];
  }
  if (!(total > 0.0L)) {
    std::fill(w.begin(), w.end(), 1.0L);  // no positive score: equal split
    total = static_cast<long double>(n);
  } else if (!std::isfinite(total)) {
    for (auto& x : w) x = std::isinf(x) ? 1.0L : 0.0L;  // +inf scores share the pool equally
    total = std::accumulate(w.begin(), w.end(), 0.0L);
  }
  std::vector<Amount> out(n);
  std::vector<long double> frac(n);
  Amount given = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const long double q = static_cast<long double>(pool) * (w[i] / total);
    const long double f = std::floor(q);
    out[i] = std::clamp<Amount>(static_cast<Amount>(f), 0, pool);
    frac[i] = q - f;
    given += out[i];
  }
  // Rounding of the quotas in long double can leave the floors a few tokens off; repair so the
  // total is exact, taking from the smallest remainders (largest index first among ties).
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return frac[a] > frac[b]; });
  while (given > pool)
    for (std::size_t k = n; k-- > 0 && given > pool;)
      if (out[order[k]] > 0) {
        --out[order[k]];
        --given;
      }
  Amount left = pool - given;  // < n except after the repair above
  for (std::size_t k = 0; left > 0; k = (k + 1) % n) {
    ++out[order[k]];
    --left;
  }
  return out;
}

Amount RewardSchedule::emission(std::int64_t round) const {
  if (round < 0)
    throw std::invalid_argument("reward schedule: round " + std::to_string(round) + " is negative");
  if (decay == 0.0) return per_round;
  // A millionth of a token of slack before the floor: decimal decays are not exact in binary
  // (1 - 0.3 is stored below 0.7), and 1000 * 0.7 must emit 700, not 699.
  const long double e =
      static_cast<long double>(per_round) *
          std::pow(1.0L - static_cast<long double>(decay), static_cast<long double>(round)) +
      1e-6L;
  return std::clamp<Amount>(static_cast<Amount>(std::floor(e)), 0, per_round);
}

Amount RewardSchedule::at(std::int64_t round) const {
  const Amount e = emission(round);
  if (task_fee > std::numeric_limits<Amount>::max() - e)
    throw std::invalid_argument("reward schedule: per_round + task_fee overflows 64 bits");
  return e + task_fee;
}

void RewardSchedule::validate() const {
  if (per_round < 0)
    throw std::invalid_argument("per_round = " + std::to_string(per_round) + " must be >= 0");
  if (!(decay >= 0.0 && decay < 1.0))
    throw std::invalid_argument("decay = " + std::to_string(decay) + " must be in [0, 1)");
  if (task_fee < 0)
    throw std::invalid_argument("task_fee = " + std::to_string(task_fee) + " must be >= 0");
  if (task_fee > std::numeric_limits<Amount>::max() - per_round)
    throw std::invalid_argument("per_round + task_fee overflows 64 bits");
}

RewardSchedule read_reward_schedule(const scenario::ParamView& p) {
  RewardSchedule s;
  s.per_round = p.integer("per_round", s.per_round, scenario::Bounds::non_negative());
  scenario::Bounds decay = scenario::Bounds::between(0.0, 1.0);
  decay.max_exclusive = true;
  s.decay = p.number("decay", s.decay, decay);
  s.task_fee = p.integer("task_fee", s.task_fee, scenario::Bounds::non_negative());
  try {
    s.validate();
  } catch (const std::invalid_argument& e) {
    p.fail("task_fee", e.what());
  }
  return s;
}

}  // namespace ledgerfl::economy
