// Reward pools and their split: the per-round emission schedule plus a task fee, divided in
// integer tokens in proportion to contribution scores.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sim/economy/ledger.hpp"
#include "sim/scenario/params.hpp"

namespace ledgerfl::economy {

// Splits `pool` (>= 0) in proportion to max(score_i, 0), in integers, by the largest-remainder
// (Hamilton) method: everyone gets floor(quota_i), and the leftover tokens go one each to the
// largest fractional parts, ties to the lower index; the result sums to exactly `pool`. If no
// score is positive (all <= 0), the pool is split equally the same way (the first
// pool mod n get one more). Empty scores: only a pool of 0 can be split (returns {}).
// A NaN score or a negative pool throws std::invalid_argument.
std::vector<Amount> split_rewards(Amount pool, std::span<const double> scores);

// The reward pool of round r (r = 0 is the first round): emission(r) new tokens, minted by the
// contract, plus task_fee paid by the model's requester (a transfer, not minted):
//     emission(r) = floor(per_round * (1 - decay)^r + 1e-6),   at(r) = emission(r) + task_fee
// (the 1e-6 absorbs the binary representation of decimal decays: 1000 * (1 - 0.3) emits 700).
struct RewardSchedule {
  Amount per_round = 1000;  // tokens emitted in round 0
  double decay = 0.0;       // per-round geometric decay of the emission, in [0, 1)
  Amount task_fee = 0;      // tokens per round from the requester

  Amount emission(std::int64_t round) const;
  Amount at(std::int64_t round) const;
  // Throws std::invalid_argument naming the key: per_round >= 0, decay in [0, 1), task_fee >= 0.
  void validate() const;
};

// Reads per_round, decay and task_fee of the table given (e.g. [contract.rewards]); bounds
// errors are InputErrors positioned at the key.
RewardSchedule read_reward_schedule(const scenario::ParamView& p);

}  // namespace ledgerfl::economy
