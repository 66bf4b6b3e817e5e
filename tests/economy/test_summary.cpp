// Economic summaries against closed forms: Gini, profit by role, return on stake.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "sim/economy/summary.hpp"

using namespace ledgerfl;

TEST_CASE("gini: equal, one holder, a closed-form pair, brute-force mean difference") {
  const std::vector<double> eq(7, 3.5);
  CHECK(economy::gini(eq) == doctest::Approx(0.0));
  const std::vector<double> zeros(4, 0.0);
  CHECK(economy::gini(zeros) == 0.0);
  for (int n : {1, 2, 5, 100}) {
    std::vector<double> one(n, 0.0);
    one[n / 2] = 42.0;
    CHECK(economy::gini(one) == doctest::Approx((n - 1.0) / n));
  }
  const std::vector<double> pair{1.0, 3.0};  // |1-3| * 2 / (2 * 4 * 2) = 0.25
  CHECK(economy::gini(pair) == doctest::Approx(0.25));
  const std::vector<double> x{5, 0, 2, 9, 1, 1, 4};
  double md = 0, mean = 0;
  for (double a : x) {
    mean += a / x.size();
    for (double b : x) md += std::abs(a - b);
  }
  CHECK(economy::gini(x) == doctest::Approx(md / (2.0 * x.size() * x.size() * mean)));
  CHECK(std::isnan(economy::gini(std::span<const double>{})));
  const std::vector<double> bad{1.0, -1.0};
  CHECK_THROWS_AS(economy::gini(bad), std::invalid_argument);
}

TEST_CASE("profit by role and return on stake") {
  const std::vector<std::string> roles{"honest", "malicious", "honest", "lazy", "malicious"};
  const std::vector<economy::Amount> rewards{100, 30, 50, 10, 0};
  const std::vector<economy::Amount> slashed{0, 40, 0, 5, 60};
  const auto p = economy::profit_by_role(roles, rewards, slashed);
  REQUIRE(p.size() == 3);
  CHECK(p[0].role == "honest");
  CHECK(p[0].members == 2);
  CHECK(p[0].profit() == 150);
  CHECK(p[1].role == "lazy");
  CHECK(p[1].profit() == 5);
  CHECK(p[2].role == "malicious");
  CHECK(p[2].rewards == 30);
  CHECK(p[2].slashed == 100);
  CHECK(p[2].profit() == -70);
  const std::vector<economy::Amount> short_slashed{0};
  CHECK_THROWS_AS(economy::profit_by_role(roles, rewards, short_slashed), std::invalid_argument);
  CHECK(economy::return_on_stake(120, 20, 1000) == doctest::Approx(0.1));
  CHECK(economy::return_on_stake(0, 50, 100) == doctest::Approx(-0.5));
  CHECK(std::isnan(economy::return_on_stake(5, 0, 0)));
}
