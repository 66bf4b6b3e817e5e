// Sybil economics under stake-weighted selection: does splitting a stake budget over k
// identities buy more selections? For our sampler (A-ES, Efraimidis & Spirakis 2006) the answer
// is exact: A-ES with keys u^(1/w) is an exponential race (identity i "arrives" at
// X_i = -ln(u_i) / w_i ~ Exp(w_i); the m earliest are selected). The first arrival of k
// identities of weight W / k is Exp(W)-distributed, like one identity of weight W, so
//   P(at least one of the k is selected) = P(the single identity is selected)   (exactly),
// and for m = 1 the expected selections are equal, W / (W + R). For m > 1 splitting gains the
// extra selections of further identities: E[split] - E[single] > 0, bounded by
//   E[split] <= m W / (W + R - (m - 1) h_max)
// (each of the m draws picks a Sybil with probability at most the Sybil share after the others'
// largest possible depletion). The tests compare keyed Monte Carlo draws through
// economy::weighted_sample with the exact race integrals, and check stake_budget end to end.
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "sim/core/record.hpp"
#include "sim/core/rng.hpp"
#include "sim/economy/selection.hpp"
#include "sim/scenario/params.hpp"
#include "sim/world/world.hpp"

using namespace ledgerfl;

namespace {

// P(a unit of weight w is among the m earliest arrivals against `others`):
// integral over x of w e^(-w x) P(#others arrived by x < m), the count a Poisson-binomial with
// p_i = 1 - e^(-w_i x) (dynamic programme), by the trapezoid rule in u = e^(-w x) on [0, 1].
double race_selected(double w, const std::vector<double>& others, std::size_t m) {
  const int steps = 20000;
  auto g = [&](double u) {
    if (u <= 0.0) return 0.0;  // x = infinity: every other has arrived (m <= #others)
    const double x = -std::log(u) / w;
    std::vector<double> dp(m, 0.0);  // dp[c] = P(exactly c arrived), c < m
    dp[0] = 1.0;
    for (double wi : others) {
      const double p = 1.0 - std::exp(-wi * x);
      for (std::size_t c = m; c-- > 0;) dp[c] = dp[c] * (1.0 - p) + (c ? dp[c - 1] * p : 0.0);
    }
    double s = 0;
    for (double v : dp) s += v;
    return s;
  };
  double sum = 0.5 * (g(0.0) + g(1.0));
  for (int i = 1; i < steps; ++i) sum += g(static_cast<double>(i) / steps);
  return sum / steps;
}

struct Draws {
  double mean_count = 0, at_least_one = 0;
};

// The Sybil group is positions [0, k) of the weights; `trials` keyed draws of m.
Draws monte_carlo(const std::vector<double>& w, std::size_t k, std::size_t m, int trials) {
  Draws d;
  for (int t = 0; t < trials; ++t) {
    core::Rng rng(11, "test.sybil", k * 100 + m, static_cast<std::uint64_t>(t));
    std::size_t c = 0;
    for (std::size_t pos : economy::weighted_sample(w, m, rng)) c += pos < k;
    d.mean_count += static_cast<double>(c);
    d.at_least_one += c > 0;
  }
  d.mean_count /= trials;
  d.at_least_one /= trials;
  return d;
}

}  // namespace

TEST_CASE("sybil: splitting a stake budget under A-ES selection, exact and by keyed draws") {
  const double W = 400, h = 100;
  const std::size_t n = 20;  // honest identities, weight h each: R = 2000
  const double R = h * static_cast<double>(n);
  const int trials = 20000;
  for (std::size_t k : {std::size_t{1}, std::size_t{4}}) {
    for (std::size_t m : {std::size_t{1}, std::size_t{5}}) {
      CAPTURE(k);
      CAPTURE(m);
      std::vector<double> w(k, W / static_cast<double>(k));
      w.insert(w.end(), n, h);
      // Exact: one Sybil identity against the honest ones and its k - 1 siblings.
      std::vector<double> others(w.begin() + 1, w.end());
      const double exact_mean = static_cast<double>(k) * race_selected(W / k, others, m);
      const double exact_one = race_selected(W, std::vector<double>(n, h), m);
      const Draws d = monte_carlo(w, k, m, trials);
      // 4.5 standard errors of a mean of `trials` draws (count <= min(k, m)).
      const double se = std::sqrt(static_cast<double>(std::min(k, m) * std::min(k, m)) / trials);
      CHECK(std::abs(d.mean_count - exact_mean) < 4.5 * se);
      CHECK(std::abs(d.at_least_one - exact_one) < 4.5 * std::sqrt(0.25 / trials));
      if (m == 1) CHECK(exact_mean == doctest::Approx(W / (W + R)).epsilon(1e-4));
      CHECK(exact_mean <= m * W / (W + R - (m - 1) * h) + 1e-6);  // tight at m = 1
      MESSAGE("k = " << k << ", m = " << m << ": E[selections] " << exact_mean << " (draws "
                     << d.mean_count << "), P(>= 1) " << exact_one << " (draws " << d.at_least_one
                     << ")");
    }
  }
  // The gain of splitting at m = 5: exact figures (single identity: its inclusion probability).
  std::vector<double> split_others(3, W / 4);
  split_others.insert(split_others.end(), n, h);
  const double single = race_selected(W, std::vector<double>(n, h), 5);
  const double split = 4 * race_selected(W / 4, split_others, 5);
  MESSAGE("m = 5: one identity " << single << " expected selections, four " << split << " (x"
                                 << split / single << ")");
  CHECK(split > single);                    // splitting gains for m > 1 ...
  CHECK(split <= 5 * W / (W + R - 4 * h));  // ... within the bound
  // m = 1: no gain at all (closed form).
  std::vector<double> o1(3, W / 4);
  o1.insert(o1.end(), n, h);
  CHECK(4 * race_selected(W / 4, o1, 1) ==
        doctest::Approx(race_selected(W, std::vector<double>(n, h), 1)).epsilon(1e-4));
}

namespace {
const char* kScenario = R"(
[simulation]
rounds = 2
[clients]
count = 20
[data]
type = "synthetic"
[model]
type = "softmax"
[training]
lr = 0.05
batch = 10
epochs = 1
[rounds]
per_round = 5
deadline = "120s"
[coordinator]
type = "contract"
[contract]
min_stake = 100
stake = 500
[contract.selection]
type = "stake"
[network]
validators = 4
[network.topology]
type = "complete"
[chain.consensus]
type = "bft"
[workload]
type = "none"
[[attack]]
type = "sign_flip"
count = 4
stake_budget = 1003
)";
}  // namespace

TEST_CASE("sybil: stake_budget splits the operator's genesis stake over its identities") {
  static world::Registries regs;
  auto doc = scenario::Document::parse(kScenario, "t.toml");
  world::Simulation sim = world::build(regs, doc->root(), 3);
  doc->check_unused();
  core::MemorySink sink;
  sim.run(sink);
  const core::MemorySink::Table* clients = nullptr;
  for (const auto& [name, t] : sink.tables)
    if (name == "/clients") clients = t.get();
  REQUIRE(clients != nullptr);
  // Attacker identities bond floor(1003 / 4) = 250 each, honest clients their 500 (selection
  // rows carry the bonded stake after the round; nothing is slashed here).
  std::int64_t attackers = 0;
  for (const auto& row : clients->rows) {
    const auto role = std::get<std::int64_t>(row[11]);
    const auto stake = std::get<std::int64_t>(row[9]);
    const auto slashed = std::get<std::int64_t>(row[8]);
    if (slashed != 0) continue;
    CHECK(stake == (role != 0 ? 250 : 500));
    attackers += role != 0;
  }
  CHECK(sink.column("attacker_stake").size() == 2);
  for (double s : sink.column("attacker_stake")) CHECK(s == 4 * 250);
  (void)attackers;
}
