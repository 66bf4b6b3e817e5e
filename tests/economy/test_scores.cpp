// Contribution scores against closed-form games: exact Shapley (additive, symmetric, efficiency),
// Monte-Carlo Shapley converging to exact, truncation, leave-one-out, accuracy gain, cosine,
// evaluation counts and the subset cache.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <set>
#include <vector>

#include "sim/economy/registries.hpp"

using namespace ledgerfl;

namespace {
// A utility from a function of the subset, counting its calls and the distinct subsets asked.
class FnUtility final : public economy::Utility {
 public:
  explicit FnUtility(std::function<double(const std::vector<std::size_t>&)> f) : f_(std::move(f)) {}
  double operator()(std::span<const std::size_t> s) override {
    std::vector<std::size_t> v(s.begin(), s.end());
    REQUIRE(std::is_sorted(v.begin(), v.end()));
    ++calls;
    distinct.insert(v);
    return f_(v);
  }
  std::int64_t calls = 0;
  std::set<std::vector<std::size_t>> distinct;

 private:
  std::function<double(const std::vector<std::size_t>&)> f_;
};

struct Fixture {
  economy::EconomyRegistries regs;
  std::unique_ptr<scenario::Document> doc;
  explicit Fixture(const std::string& toml = "") : doc(scenario::Document::parse(toml, "t.toml")) {
    economy::register_builtin_economy(regs);
  }
  std::unique_ptr<economy::ContributionScore> make(const std::string& name,
                                                   const std::string& table = "") {
    return regs.scores.find(name)->factory(doc->root().table(table.empty() ? name : table));
  }
};

// n placeholder updates (scores that read no vectors still get n of them).
struct Updates {
  std::vector<std::vector<float>> data;
  std::vector<std::span<const float>> spans;
  explicit Updates(std::size_t n, std::size_t dim = 2) : data(n, std::vector<float>(dim, 0.f)) {
    for (auto& d : data) spans.emplace_back(d);
  }
};

economy::ScoreResult run(const economy::ContributionScore& s, std::size_t n, economy::Utility* u,
                         core::Rng* rng = nullptr) {
  Updates up(n);
  economy::ScoreInput in;
  in.deltas = up.spans;
  in.utility = u;
  in.rng = rng;
  return s.score(in);
}

// A non-additive game on 4 players: squared sum of values, a pair synergy (0, 1), a
// redundancy (2, 3) and a three-way synergy (0, 2, 3).
double game4(const std::vector<std::size_t>& s) {
  const double v[4] = {0.3, 0.1, 0.25, 0.2};
  double sum = 0;
  bool has[4] = {};
  for (auto i : s) {
    sum += v[i];
    has[i] = true;
  }
  // The three-way term makes the game cubic: for games of degree <= 2 the Banzhaf value equals
  // the Shapley value, so a wrong subset weighting would go unnoticed.
  return sum * sum + (has[0] && has[1] ? 0.15 : 0.0) - (has[2] && has[3] ? 0.1 : 0.0) +
         (has[0] && has[2] && has[3] ? 0.2 : 0.0);
}

// Exact Shapley of game4 and the variance of each player's marginal over the 24 permutations.
void exact_moments(std::vector<double>& mean, std::vector<double>& var) {
  std::vector<std::size_t> perm{0, 1, 2, 3};
  mean.assign(4, 0.0);
  std::vector<double> sq(4, 0.0);
  int count = 0;
  do {
    std::vector<std::size_t> prefix;
    double prev = game4(prefix);
    for (auto i : perm) {
      prefix.push_back(i);
      std::sort(prefix.begin(), prefix.end());
      const double v = game4(prefix);
      mean[i] += v - prev;
      sq[i] += (v - prev) * (v - prev);
      prev = v;
    }
    ++count;
  } while (std::next_permutation(perm.begin(), perm.end()));
  var.resize(4);
  for (int i = 0; i < 4; ++i) {
    mean[i] /= count;
    var[i] = sq[i] / count - mean[i] * mean[i];
  }
}
}  // namespace

TEST_CASE("exact Shapley: additive game gives the values; symmetric game equal shares") {
  Fixture f;
  auto s = f.make("shapley_exact");
  const std::vector<double> values{0.5, -0.2, 1.25, 0.0, 3.0};
  FnUtility add([&](const std::vector<std::size_t>& S) {
    double u = 7.0;  // u({}) = 7
    for (auto i : S) u += values[i];
    return u;
  });
  auto r = run(*s, 5, &add);
  REQUIRE(r.scores.size() == 5);
  for (int i = 0; i < 5; ++i) CHECK(r.scores[i] == doctest::Approx(values[i]));
  CHECK(r.evaluations == 32);
  CHECK(add.calls == 32);

  FnUtility sym([](const std::vector<std::size_t>& S) { return std::pow(S.size(), 2.0); });
  r = run(*s, 6, &sym);
  for (int i = 0; i < 6; ++i) CHECK(r.scores[i] == doctest::Approx(6.0));  // 36 / 6

  // Unanimity game of T = {0, 1, 2} among 4: 1/3 each in T, 0 for the dummy player 3.
  FnUtility un([](const std::vector<std::size_t>& S) {
    return S.size() >= 3 && S[0] == 0 && S[1] == 1 && S[2] == 2 ? 1.0 : 0.0;
  });
  r = run(*s, 4, &un);
  for (int i = 0; i < 3; ++i) CHECK(r.scores[i] == doctest::Approx(1.0 / 3.0));
  CHECK(r.scores[3] == doctest::Approx(0.0));

  // Efficiency on a non-additive game: sum = u(all) - u({}).
  FnUtility g(game4);
  r = run(*s, 4, &g);
  CHECK(std::accumulate(r.scores.begin(), r.scores.end(), 0.0) ==
        doctest::Approx(game4({0, 1, 2, 3}) - game4({})));
  std::vector<double> mean, var;
  exact_moments(mean, var);
  for (int i = 0; i < 4; ++i) CHECK(r.scores[i] == doctest::Approx(mean[i]));
  // Synergy pays 0 and 1, redundancy costs 2 and 3 (vs. the squared-sum part alone).
  CHECK(r.scores[0] > r.scores[2]);
}

TEST_CASE("exact Shapley refuses n > 16 and a missing utility") {
  Fixture f;
  auto s = f.make("shapley_exact");
  FnUtility u([](const std::vector<std::size_t>&) { return 0.0; });
  CHECK_THROWS_WITH_AS(run(*s, 17, &u), doctest::Contains("at most 16"), std::invalid_argument);
  CHECK(u.calls == 0);
  CHECK_THROWS_WITH_AS(run(*s, 3, nullptr), doctest::Contains("needs a utility"),
                       std::invalid_argument);
  CHECK(run(*s, 0, &u).scores.empty());
}

TEST_CASE("Monte-Carlo Shapley converges to exact Shapley on 4 players") {
  std::vector<double> exact, var;
  exact_moments(exact, var);
  Fixture f(
      "[few]\npermutations = 10\ntruncation = 0.0\n"
      "[many]\npermutations = 2000\ntruncation = 0.0\n");
  auto few = f.make("shapley_mc", "few");
  auto many = f.make("shapley_mc", "many");
  f.doc->check_unused();
  double err_few = 0, err_many = 0;
  const int seeds = 10;
  for (int seed = 1; seed <= seeds; ++seed) {
    FnUtility g(game4);
    core::Rng r1(seed, "test.shapley", 0, 0), r2(seed, "test.shapley", 0, 1);
    const auto a = run(*few, 4, &g, &r1);
    const auto b = run(*many, 4, &g, &r2);
    // Every permutation telescopes: efficiency holds exactly without truncation.
    CHECK(std::accumulate(b.scores.begin(), b.scores.end(), 0.0) ==
          doctest::Approx(game4({0, 1, 2, 3}) - game4({})));
    for (int i = 0; i < 4; ++i) {
      err_few += std::abs(a.scores[i] - exact[i]);
      err_many += std::abs(b.scores[i] - exact[i]);
      // The mean of 2000 marginals is within 4 standard errors of the exact value.
      CHECK_MESSAGE(std::abs(b.scores[i] - exact[i]) <= 4 * std::sqrt(var[i] / 2000),
                    "seed " << seed << " player " << i);
    }
    // 4 players have 16 subsets: the cache bounds the evaluations whatever the permutations.
    // (2000 permutations visit all 24 orders, so all 16 are asked for, each once.)
    CHECK(b.evaluations == 16);
    CHECK(g.distinct.size() == 16);
    CHECK(g.calls == a.evaluations + b.evaluations);  // each call's cache is its own
  }
  CHECK(err_many < err_few / 4);  // ~ sqrt(200) = 14x fewer errors expected
}

TEST_CASE("Monte-Carlo Shapley truncation: a dominant player ends each permutation") {
  // u(S) = 1 if 0 in S else 0: player 0 brings everything, Shapley (1, 0, 0, ...).
  auto dominant = [](const std::vector<std::size_t>& S) {
    return std::binary_search(S.begin(), S.end(), std::size_t{0}) ? 1.0 : 0.0;
  };
  Fixture f("[t]\npermutations = 30\ntruncation = 0.01\n[n]\npermutations = 30\ntruncation = 0\n");
  auto trunc = f.make("shapley_mc", "t");
  auto none = f.make("shapley_mc", "n");
  FnUtility u1(dominant), u2(dominant);
  core::Rng r1(1, "test.tmc"), r2(1, "test.tmc");
  const std::size_t n = 12;
  const auto a = run(*trunc, n, &u1, &r1);
  const auto b = run(*none, n, &u2, &r2);
  CHECK(a.scores[0] == doctest::Approx(1.0));
  CHECK(b.scores[0] == doctest::Approx(1.0));
  for (std::size_t i = 1; i < n; ++i) CHECK(a.scores[i] == 0.0);
  // Truncation skips every prefix after player 0 joined. Player 0's position is uniform, so a
  // permutation evaluates (n + 1) / 2 = 6.5 prefixes on average instead of n = 12 (ratio 0.54
  // before cache hits; measured 162 vs 279).
  CHECK(a.evaluations < 0.7 * static_cast<double>(b.evaluations));
  CHECK(a.evaluations > 0.4 * static_cast<double>(b.evaluations));
  CHECK(a.evaluations == u1.calls);
  // Between-round truncation: an aggregate that changes nothing costs u({}) and u(all) only.
  FnUtility flat([](const std::vector<std::size_t>&) { return 0.8; });
  core::Rng r3(2, "test.tmc");
  const auto c = run(*trunc, n, &flat, &r3);
  CHECK(c.evaluations == 2);
  for (double x : c.scores) CHECK(x == 0.0);
  CHECK_THROWS_WITH_AS(run(*trunc, 3, &flat, nullptr), doctest::Contains("random stream"),
                       std::invalid_argument);
  auto bad = scenario::Document::parse("[t]\npermutations = 0\n", "t.toml");
  CHECK_THROWS_WITH_AS(f.regs.scores.find("shapley_mc")->factory(bad->root().table("t")),
                       doctest::Contains("t.permutations"), scenario::InputError);
}

TEST_CASE("leave-one-out and accuracy gain: closed forms and n + 1 evaluations") {
  Fixture f;
  const std::vector<double> v{1.0, 2.0, 4.0};
  auto sq = [&](const std::vector<std::size_t>& S) {
    double s = 0;
    for (auto i : S) s += v[i];
    return s * s;  // u(S) = (sum v)^2
  };
  FnUtility u1(sq), u2(sq);
  const auto loo = run(*f.make("loo"), 3, &u1);
  const auto gain = run(*f.make("accuracy_gain"), 3, &u2);
  for (int i = 0; i < 3; ++i) {
    CHECK(loo.scores[i] == doctest::Approx(49.0 - (7.0 - v[i]) * (7.0 - v[i])));
    CHECK(gain.scores[i] == doctest::Approx(v[i] * v[i]));
  }
  CHECK(loo.evaluations == 4);
  CHECK(gain.evaluations == 4);
  CHECK(u1.calls == 4);
  // n = 1: all \ {0} is {}, u({0}) is u(all): still 2 evaluations, both scores u(all) - u({}).
  FnUtility u3(sq), u4(sq);
  CHECK(run(*f.make("loo"), 1, &u3).scores[0] == doctest::Approx(1.0));
  CHECK(run(*f.make("accuracy_gain"), 1, &u4).evaluations == 2);
  CHECK_THROWS_AS(run(*f.make("loo"), 2, nullptr), std::invalid_argument);
}

TEST_CASE("cosine and accepted need no evaluations") {
  Fixture f;
  std::vector<std::vector<float>> d{{1, 0}, {0, 2}, {-1, -1}, {0, 0}};
  std::vector<std::span<const float>> spans(d.begin(), d.end());
  std::vector<float> agg{1, 1};
  std::vector<double> w{1, 1, 1, 1};
  economy::ScoreInput in;
  in.deltas = spans;
  in.weights = w;
  in.aggregate = agg;
  const auto c = f.make("cosine")->score(in);
  CHECK(c.evaluations == 0);
  CHECK(c.scores[0] == doctest::Approx(std::sqrt(0.5)));
  CHECK(c.scores[1] == doctest::Approx(std::sqrt(0.5)));
  CHECK(c.scores[2] == doctest::Approx(-1.0));
  CHECK(c.scores[3] == 0.0);  // zero update
  const auto a = f.make("accepted")->score(in);
  CHECK(a.scores == std::vector<double>(4, 1.0));
  CHECK_FALSE(f.make("cosine")->needs_utility());
  CHECK(f.make("loo")->needs_utility());
  std::vector<float> short_agg{1};
  in.aggregate = short_agg;
  CHECK_THROWS_WITH_AS(f.make("cosine")->score(in), doctest::Contains("update 0 has 2 values"),
                       std::invalid_argument);
  std::vector<double> w3{1, 1, 1};
  in.aggregate = agg;
  in.weights = w3;
  CHECK_THROWS_WITH_AS(f.make("accepted")->score(in), doctest::Contains("3 weights for 4"),
                       std::invalid_argument);
}
