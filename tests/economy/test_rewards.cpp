// Reward split by largest remainder (exact sums, ties, equal split) and the emission schedule.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "sim/core/rng.hpp"
#include "sim/economy/rewards.hpp"
#include "sim/scenario/params.hpp"

using namespace ledgerfl;
using economy::Amount;
using economy::split_rewards;

TEST_CASE("split_rewards: proportional, largest remainder, ties to the lower index") {
  const std::vector<double> s{1, 1, 1};
  CHECK(split_rewards(100, s) == std::vector<Amount>{34, 33, 33});
  const std::vector<double> p{3, 1};
  CHECK(split_rewards(10, p) == std::vector<Amount>{8, 2});  // 7.5, 2.5: tie -> index 0
  const std::vector<double> q{0.5, 0.3, 0.2};
  CHECK(split_rewards(7, q) == std::vector<Amount>{4, 2, 1});  // 3.5, 2.1, 1.4
  const std::vector<double> neg{2.0, -5.0, 0.0, 6.0};
  CHECK(split_rewards(80, neg) == std::vector<Amount>{20, 0, 0, 60});  // negatives count 0
  const std::vector<double> none{-1.0, 0.0, -2.0};
  CHECK(split_rewards(10, none) == std::vector<Amount>{4, 3, 3});  // no positive: equal
  CHECK(split_rewards(0, s) == std::vector<Amount>{0, 0, 0});
  CHECK(split_rewards(0, std::span<const double>{}).empty());
  const std::vector<double> inf{1.0, INFINITY, INFINITY};
  CHECK(split_rewards(5, inf) == std::vector<Amount>{0, 3, 2});
}

TEST_CASE("split_rewards sums to the pool exactly for random scores and huge pools") {
  core::Rng r(1, "test.rewards");
  for (int t = 0; t < 2000; ++t) {
    const std::size_t n = 1 + r.below(40);
    std::vector<double> s(n);
    for (auto& x : s) x = r.bernoulli(0.2) ? -r.uniform() : r.exponential(1.0) * 1e-3;
    const Amount pool = t % 2 ? static_cast<Amount>(r.below(1'000'000))
                              : static_cast<Amount>(r.next() >> 2);  // up to 2^62
    const auto out = split_rewards(pool, s);
    CHECK(std::accumulate(out.begin(), out.end(), Amount{0}) == pool);
    for (std::size_t i = 0; i < n; ++i) {
      CHECK(out[i] >= 0);
      if (s[i] <= 0 && std::any_of(s.begin(), s.end(), [](double x) { return x > 0; }))
        CHECK(out[i] == 0);
    }
  }
}

TEST_CASE("split_rewards refuses bad input") {
  const std::vector<double> s{1.0, NAN};
  CHECK_THROWS_WITH_AS(split_rewards(5, s), doctest::Contains("score 1 is NaN"),
                       std::invalid_argument);
  const std::vector<double> ok{1.0};
  CHECK_THROWS_AS(split_rewards(-1, ok), std::invalid_argument);
  CHECK_THROWS_WITH_AS(split_rewards(3, std::span<const double>{}),
                       doctest::Contains("among no one"), std::invalid_argument);
}

TEST_CASE("reward schedule: geometric emission plus the task fee") {
  economy::RewardSchedule s;
  CHECK(s.at(0) == 1000);
  CHECK(s.at(500) == 1000);
  s.decay = 0.1;
  s.task_fee = 7;
  CHECK(s.emission(0) == 1000);
  CHECK(s.emission(1) == 900);
  CHECK(s.emission(2) == 810);
  CHECK(s.emission(10) == 348);  // floor(1000 * 0.9^10 = 348.678)
  CHECK(s.at(2) == 817);
  s.decay = 0.3;
  CHECK(s.emission(1) == 700);  // 1 - 0.3 is below 0.7 in binary: the floor has slack
  CHECK(s.emission(3) == 343);
  CHECK_THROWS_AS(s.at(-1), std::invalid_argument);
  s.decay = 1.0;
  CHECK_THROWS_WITH_AS(s.validate(), doctest::Contains("decay"), std::invalid_argument);
}

TEST_CASE("read_reward_schedule reads its keys and names the key on a bound error") {
  auto doc = scenario::Document::parse(
      "[contract.rewards]\nper_round = 500\ndecay = 0.01\ntask_fee = 20\n", "t.toml");
  const auto s = economy::read_reward_schedule(doc->root().table("contract").table("rewards"));
  doc->check_unused();
  CHECK(s.per_round == 500);
  CHECK(s.decay == 0.01);
  CHECK(s.task_fee == 20);
  auto def = scenario::Document::parse("", "t.toml");
  const auto d = economy::read_reward_schedule(def->root().table("r"));
  CHECK(d.per_round == 1000);
  CHECK(d.decay == 0.0);
  CHECK(d.task_fee == 0);
  for (const char* bad : {"per_round = -1\n", "decay = 1.0\n", "task_fee = -3\n"}) {
    auto b = scenario::Document::parse(std::string("[r]\n") + bad, "t.toml");
    const std::string key = std::string(bad).substr(0, std::string(bad).find(' '));
    CHECK_THROWS_WITH_AS(economy::read_reward_schedule(b->root().table("r")),
                         doctest::Contains(("r." + key).c_str()), scenario::InputError);
  }
}
