// Tests of the client attacks: a contract over the registry (defaults build, deterministic,
// finite) and closed forms on small hand-made inputs for each attack.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "sim/agents/attack.hpp"
#include "sim/agents/attacks/agr_agnostic.hpp"
#include "sim/agents/attacks/common.hpp"
#include "sim/core/rng.hpp"
#include "sim/scenario/params.hpp"

using namespace ledgerfl;
using agents::AttackRegistry;
using agents::ClientAttack;
using agents::CraftInput;

namespace {

AttackRegistry& registry() {
  static AttackRegistry reg = [] {
    AttackRegistry r{"attack", "[[attack]] type = \"...\""};
    agents::register_builtin_attacks(r);
    return r;
  }();
  return reg;
}

// An attack built from "[attack] type = name" plus `body`; every key must be read.
std::unique_ptr<ClientAttack> build(const std::string& type, const std::string& body = "",
                                    int input_dim = 36, int classes = 10) {
  auto doc = scenario::Document::parse("[attack]\ntype = \"" + type + "\"\n" + body, "t.toml");
  const scenario::ParamView p = doc->root().table("attack");
  auto a = registry().get(p).factory(p, input_dim, classes);
  doc->check_unused();
  return a;
}

std::vector<float> random_vector(std::size_t d, std::uint64_t seed, std::uint64_t entity,
                                 double mean = 0.0, double sd = 1.0) {
  core::Rng r(seed, "test_attacks", entity);
  std::vector<float> v(d);
  for (float& x : v) x = static_cast<float>(r.normal(mean, sd));
  return v;
}

// The inputs of one craft() call, owning their storage.
struct CraftCase {
  std::vector<std::vector<float>> known_store, mine_store;
  std::vector<float> global, previous;
  std::vector<std::span<const float>> known;
  std::vector<std::span<float>> mine;
  CraftInput in;

  CraftCase(std::vector<std::vector<float>> k, std::vector<std::vector<float>> m,
            std::vector<float> g = {}, std::vector<float> prev = {}, std::size_t n = 0)
      : known_store(std::move(k)),
        mine_store(std::move(m)),
        global(std::move(g)),
        previous(std::move(prev)) {
    for (const auto& v : known_store) known.emplace_back(v);
    for (auto& v : mine_store) mine.emplace_back(v);
    in.round = 3;
    in.seed = 42;
    in.global = global;
    in.previous_global = previous;
    in.num_malicious = mine_store.size();
    in.n = n ? n : known_store.size() + mine_store.size();
    in.known = known;
  }
  void run(const ClientAttack& a) { a.craft(in, mine); }
};

CraftCase random_case(std::size_t k, std::size_t f, std::size_t d, bool trains,
                      std::uint64_t seed = 7) {
  std::vector<std::vector<float>> known, mine;
  for (std::size_t i = 0; i < k; ++i) known.push_back(random_vector(d, seed, i, 0.3, 1.0));
  for (std::size_t i = 0; i < f; ++i)
    mine.push_back(trains ? random_vector(d, seed, 100 + i, 0.3, 1.0) : std::vector<float>(d));
  return CraftCase(std::move(known), std::move(mine), random_vector(d, seed, 1000),
                   random_vector(d, seed, 1001));
}

data::Dataset tiny_test_set(int dim, const std::vector<std::int32_t>& labels, int classes = 10) {
  data::Dataset t;
  t.name = "tiny";
  t.num_classes = classes;
  t.labels = labels;
  t.features.resize(static_cast<Eigen::Index>(labels.size()), dim);
  for (Eigen::Index r = 0; r < t.features.rows(); ++r)
    for (int c = 0; c < dim; ++c) t.features(r, c) = 0.01f * static_cast<float>(r * dim + c);
  return t;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("every registered attack builds with defaults, is deterministic and finite") {
  REQUIRE(registry().entries().size() >= 3);
  for (const auto& e : registry().entries()) {
    CAPTURE(e.doc.name);
    auto a = build(e.doc.name);
    CHECK(a->name() == e.doc.name);
    for (const auto& d : e.doc.params) {
      CHECK(!d.name.empty());
      CHECK(!d.type.empty());
      CHECK(!d.meaning.empty());
    }
    if (a->poisons_data()) {
      CHECK(a->trains());
      const int dim = 36;
      auto poisoned = [&](std::size_t identity) {
        data::Dataset d = tiny_test_set(dim, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5});
        std::vector<float> f(d.features.data(), d.features.data() + d.features.size());
        core::Rng rng(5, "poison", identity, 2);
        a->poison(identity, 3, 2, f, dim, d.labels, rng);
        f.insert(f.end(), d.labels.begin(), d.labels.end());
        return f;
      };
      CHECK(same_bits(poisoned(0), poisoned(0)));
      CHECK(same_bits(poisoned(1), poisoned(1)));
      for (float x : poisoned(2)) CHECK(std::isfinite(x));
    }
    auto crafted = [&] {
      CraftCase c = random_case(8, 3, 50, a->trains());
      c.run(*a);
      std::vector<float> all;
      for (const auto& m : c.mine_store) all.insert(all.end(), m.begin(), m.end());
      return all;
    };
    const auto first = crafted();
    CHECK(same_bits(first, crafted()));
    CHECK(std::all_of(first.begin(), first.end(), [](float x) { return std::isfinite(x); }));
    // Before the first aggregate (no previous global) craft still works.
    CraftCase c0 = random_case(8, 3, 50, a->trains());
    c0.previous.clear();
    c0.in.previous_global = {};
    c0.run(*a);
    for (const auto& m : c0.mine_store)
      CHECK(std::all_of(m.begin(), m.end(), [](float x) { return std::isfinite(x); }));
  }
}

TEST_CASE("every key an attack reads with a default is declared in its param docs") {
  for (const auto& e : registry().entries()) {
    CAPTURE(e.doc.name);
    auto doc = scenario::Document::parse("[attack]\ntype = \"" + e.doc.name + "\"\n", "t.toml");
    const scenario::ParamView p = doc->root().table("attack");
    registry().get(p).factory(p, 36, 10);
    // The resolved document holds every default that was used.
    auto resolved = scenario::Document::parse(doc->resolved_toml(), "resolved.toml");
    const auto keys = resolved->root().table("attack").keys();
    if (e.doc.name == "backdoor")  // the check above is not vacuous: defaults are written
      CHECK(std::find(keys.begin(), keys.end(), "poison_fraction") != keys.end());
    for (const auto& key : keys) {
      if (key == "type") continue;
      CAPTURE(key);
      CHECK(std::any_of(e.doc.params.begin(), e.doc.params.end(),
                        [&](const scenario::ParamDoc& d) { return d.name == key; }));
    }
  }
}

TEST_CASE("unknown attack names and bad parameters are positioned input errors") {
  CHECK_THROWS_WITH_AS(build("sign_flp"), doctest::Contains("sign_flip"), scenario::InputError);
  CHECK_THROWS_AS(build("sign_flip", "scale = -1\n"), scenario::InputError);
  CHECK_THROWS_AS(build("sign_flip", "scael = 2\n"), scenario::InputError);  // unused key
  CHECK_THROWS_AS(build("backdoor", "size = 7\n"), scenario::InputError);    // 6x6 image
  CHECK_THROWS_AS(build("backdoor", "target = 10\n"), scenario::InputError);
  CHECK_THROWS_AS(build("backdoor", "poison_fraction = 1.5\n"), scenario::InputError);
  CHECK_THROWS_AS(build("label_flip", "source = 1\n"), scenario::InputError);
  CHECK_THROWS_AS(build("label_flip", "source = 1\ntarget = 12\n"), scenario::InputError);
  CHECK_THROWS_AS(build("label_flip", "map = { x = 2 }\n"), scenario::InputError);
}

TEST_CASE("inverse normal CDF") {
  using agents::attacks::inverse_normal_cdf;
  CHECK(std::abs(inverse_normal_cdf(0.975) - 1.959963984540054) < 1e-6);
  CHECK(std::abs(inverse_normal_cdf(0.975) - 1.959963984540054) < 1e-12);
  CHECK(inverse_normal_cdf(0.5) == doctest::Approx(0.0).epsilon(1e-15));
  CHECK(std::abs(inverse_normal_cdf(0.6) - 0.2533471031357997) < 1e-12);
  CHECK(std::abs(inverse_normal_cdf(1e-10) + 6.361340902404056) < 1e-9);
  CHECK(std::isinf(inverse_normal_cdf(0.0)));
  CHECK(std::isinf(inverse_normal_cdf(1.0)));
  // Round trip through Phi and symmetry, across the three regions of the approximation.
  for (double p : {1e-8, 1e-4, 0.01, 0.02425, 0.1, 0.3, 0.5, 0.77, 0.95, 0.99, 0.9999}) {
    CAPTURE(p);
    const double x = inverse_normal_cdf(p);
    CHECK(std::abs(0.5 * std::erfc(-x / std::sqrt(2.0)) - p) < 1e-14 + 1e-12 * p);
    // 1 - p itself is rounded (~1e-16), which moves the far-tail quantile by ~1e-9.
    CHECK(std::abs(x + inverse_normal_cdf(1.0 - p)) < 1e-8);
  }
}

TEST_CASE("sign_flip is exactly -s * delta") {
  for (const char* body : {"", "scale = 2.5\n"}) {
    const float s = std::string(body).empty() ? 1.0f : 2.5f;
    auto a = build("sign_flip", body);
    CraftCase c = random_case(4, 2, 20, true);
    const auto before = c.mine_store;
    c.run(*a);
    for (std::size_t k = 0; k < before.size(); ++k)
      for (std::size_t j = 0; j < before[k].size(); ++j)
        CHECK(c.mine_store[k][j] == -s * before[k][j]);
  }
}

TEST_CASE("label_flip maps labels and its success set is the source classes") {
  auto def = build("label_flip");
  std::vector<std::int32_t> labels{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3};
  std::vector<float> f(labels.size() * 36, 0.5f);
  core::Rng rng(1, "x");
  def->poison(0, 1, 0, f, 36, labels, rng);
  CHECK(labels == std::vector<std::int32_t>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 6});
  CHECK(std::all_of(f.begin(), f.end(), [](float x) { return x == 0.5f; }));

  auto one = build("label_flip", "source = 3\ntarget = 5\n");
  labels = {0, 3, 5, 3, 9};
  one->poison(0, 1, 0, f, 36, labels, rng);
  CHECK(labels == std::vector<std::int32_t>{0, 5, 5, 5, 9});

  auto map = build("label_flip", "map = { 1 = 7, 7 = 1, 2 = 2 }\n");
  labels = {1, 7, 2, 4};
  map->poison(0, 1, 0, f, 36, labels, rng);
  CHECK(labels == std::vector<std::int32_t>{7, 1, 2, 4});

  const data::Dataset test = tiny_test_set(36, {3, 1, 3, 0, 7, 2});
  data::Dataset out;
  REQUIRE(one->success_set(test, out));
  CHECK(out.size() == 2);
  CHECK(out.labels == std::vector<std::int32_t>{5, 5});
  CHECK(out.features.row(0) == test.features.row(0));
  CHECK(out.features.row(1) == test.features.row(2));
  REQUIRE(map->success_set(test, out));  // 1 -> 7 and 7 -> 1 (2 -> 2 is no flip)
  CHECK(out.labels == std::vector<std::int32_t>{7, 1});
  REQUIRE(def->success_set(test, out));
  CHECK(out.size() == 6);
  CHECK(out.labels == std::vector<std::int32_t>{6, 8, 6, 9, 2, 7});
}

TEST_CASE("backdoor sets exactly the trigger pixels and the target on poison_fraction of rows") {
  // 6x6 image, 2x2 square at the bottom-right corner: pixels 28, 29, 34, 35.
  auto a = build("backdoor", "size = 2\nvalue = 9.0\ntarget = 4\npoison_fraction = 0.25\n");
  const auto& trig = dynamic_cast<const agents::attacks::TriggerAttack&>(*a).trigger();
  CHECK(trig.pixels == std::vector<std::uint32_t>{28, 29, 34, 35});
  const int dim = 36, rows = 40;
  std::vector<float> f(rows * dim);
  std::iota(f.begin(), f.end(), 0.0f);
  std::vector<std::int32_t> labels(rows);
  for (int i = 0; i < rows; ++i) labels[i] = i % 10;
  const auto f0 = f;
  const auto l0 = labels;
  core::Rng rng(3, "poison", 0, 1);
  a->poison(0, 1, 1, f, dim, labels, rng);
  int poisoned = 0;
  for (int r = 0; r < rows; ++r) {
    bool changed = false;
    for (int c = 0; c < dim; ++c) changed |= f[r * dim + c] != f0[r * dim + c];
    if (!changed) {
      CHECK(labels[r] == l0[r]);
      continue;
    }
    ++poisoned;
    CHECK(labels[r] == 4);
    for (int c = 0; c < dim; ++c) {
      const bool in = std::find(trig.pixels.begin(), trig.pixels.end(), c) != trig.pixels.end();
      CHECK(f[r * dim + c] == (in ? 9.0f : f0[r * dim + c]));
    }
  }
  CHECK(poisoned == 10);  // 0.25 * 40

  // Pattern: the checkerboard cells of a 3x3 box at the top-left corner.
  auto p = build("backdoor", "trigger = \"pattern\"\nsize = 3\nposition = \"top_left\"\n");
  CHECK(dynamic_cast<const agents::attacks::TriggerAttack&>(*p).trigger().pixels ==
        std::vector<std::uint32_t>{0, 2, 7, 12, 14});
  // A flat (non-square) input: the last `size` features.
  auto flat = build("backdoor", "size = 3\n", 10, 10);
  CHECK(dynamic_cast<const agents::attacks::TriggerAttack&>(*flat).trigger().pixels ==
        std::vector<std::uint32_t>{7, 8, 9});

  // Success set: triggered test inputs whose label is not the target.
  const data::Dataset test = tiny_test_set(dim, {4, 1, 4, 0, 7});
  data::Dataset out;
  REQUIRE(a->success_set(test, out));
  CHECK(out.size() == 3);
  CHECK(out.labels == std::vector<std::int32_t>{4, 4, 4});
  for (Eigen::Index r = 0; r < 3; ++r) {
    const Eigen::Index src = std::array<Eigen::Index, 3>{1, 3, 4}[static_cast<std::size_t>(r)];
    for (int c = 0; c < dim; ++c) {
      const bool in = std::find(trig.pixels.begin(), trig.pixels.end(), c) != trig.pixels.end();
      CHECK(out.features(r, c) == (in ? 9.0f : test.features(src, c)));
    }
  }
}

namespace {

std::vector<double> mean_of(const std::vector<std::vector<float>>& u) {
  std::vector<double> m(u[0].size(), 0.0);
  for (const auto& g : u)
    for (std::size_t j = 0; j < m.size(); ++j) m[j] += g[j];
  for (double& x : m) x /= static_cast<double>(u.size());
  return m;
}

std::vector<double> std_of(const std::vector<std::vector<float>>& u, const std::vector<double>& m) {
  std::vector<double> s(m.size(), 0.0);
  for (const auto& g : u)
    for (std::size_t j = 0; j < m.size(); ++j) s[j] += (g[j] - m[j]) * (g[j] - m[j]);
  for (double& x : s) x = std::sqrt(x / static_cast<double>(u.size()));
  return s;
}

// Sample mean and standard deviation of a vector of floats.
std::pair<double, double> moments(const std::vector<float>& v) {
  double m = 0.0, s = 0.0;
  for (float x : v) m += x;
  m /= static_cast<double>(v.size());
  for (float x : v) s += (x - m) * (x - m);
  return {m, std::sqrt(s / static_cast<double>(v.size()))};
}

void check_all_equal_to(const CraftCase& c, const std::vector<double>& v, double tol) {
  for (const auto& m : c.mine_store) {
    REQUIRE(m.size() == v.size());
    for (std::size_t j = 0; j < v.size(); ++j)
      CHECK(std::abs(m[j] - v[j]) <= tol * (1.0 + std::abs(v[j])));
  }
}

}  // namespace

TEST_CASE("scaling and model_replacement multiply the update exactly") {
  auto s = build("scaling", "factor = -3.0\n");
  CraftCase c = random_case(4, 2, 20, true);
  auto before = c.mine_store;
  c.run(*s);
  for (std::size_t k = 0; k < 2; ++k)
    for (std::size_t j = 0; j < 20; ++j) CHECK(c.mine_store[k][j] == -3.0f * before[k][j]);

  // Default boost n / num_malicious: 10 updates, 2 of them this attack's -> 5x.
  auto mr = build("model_replacement");
  CHECK(mr->poisons_data());
  CraftCase d = random_case(8, 2, 20, true);
  before = d.mine_store;
  d.run(*mr);
  for (std::size_t k = 0; k < 2; ++k)
    for (std::size_t j = 0; j < 20; ++j)
      CHECK(d.mine_store[k][j] == static_cast<float>(5.0 * before[k][j]));
  auto mr3 = build("model_replacement", "boost = 3.0\n");
  CraftCase e = random_case(8, 2, 20, true);
  before = e.mine_store;
  e.run(*mr3);
  CHECK(e.mine_store[1][7] == static_cast<float>(3.0 * before[1][7]));
}

TEST_CASE("alie submits mean - z * std with z from n and f") {
  using agents::attacks::alie_z;
  using agents::attacks::inverse_normal_cdf;
  // n = 10, f = 2: s = floor(10/2 + 1) - 2 = 4, z = Phi^-1(6/10).
  CHECK(alie_z(10, 2) == inverse_normal_cdf(0.6));
  CHECK(std::abs(alie_z(10, 2) - 0.2533471031357997) < 1e-12);
  // n = 50, f = 12: s = 26 - 12 = 14, z = Phi^-1(36/50).
  CHECK(alie_z(50, 12) == inverse_normal_cdf(0.72));
  CHECK(std::isfinite(alie_z(10, 9)));  // s < 1 is clamped to 1

  std::vector<std::vector<float>> known{{1, 2, 0, -1, 4}, {3, 2, 1, -1, 0}, {2, 5, 0, 1, 2},
                                        {0, 2, 2, -3, 1}, {1, 1, 1, 1, 1},  {4, 0, 3, 2, -2},
                                        {2, 2, 2, 2, 2},  {1, 3, 0, 0, 6}};
  const auto mu = mean_of(known), sd = std_of(known, mu);
  CraftCase c(known, {std::vector<float>(5), std::vector<float>(5)});
  c.in.n = 10;
  c.in.num_malicious = 2;
  c.run(*build("alie"));
  std::vector<double> expect(5);
  for (int j = 0; j < 5; ++j) expect[j] = mu[j] - inverse_normal_cdf(0.6) * sd[j];
  check_all_equal_to(c, expect, 1e-6);

  CraftCase o(known, {std::vector<float>(5)});
  o.run(*build("alie", "z = 1.5\n"));
  for (int j = 0; j < 5; ++j) expect[j] = mu[j] - 1.5 * sd[j];
  check_all_equal_to(o, expect, 1e-6);
}

TEST_CASE("ipm submits -epsilon * mean") {
  std::vector<std::vector<float>> known{{1, -2, 4}, {3, 0, 0}, {2, 2, -1}};
  CraftCase c(known, {std::vector<float>(3), std::vector<float>(3)});
  c.run(*build("ipm"));
  check_all_equal_to(c, {-0.5 * 2.0, -0.5 * 0.0, -0.5 * 1.0}, 1e-7);
  CraftCase d(known, {std::vector<float>(3)});
  d.run(*build("ipm", "epsilon = 4.0\n"));
  check_all_equal_to(d, {-8.0, 0.0, -4.0}, 1e-7);
}

TEST_CASE("min_max and min_sum satisfy their distance constraint and are near-tight") {
  using namespace agents::attacks;
  const double tau = 1e-5;
  for (const char* oracle_name : {"min_max", "min_sum"}) {
    const AgrOracle oracle =
        std::string(oracle_name) == "min_max" ? AgrOracle::kMinMax : AgrOracle::kMinSum;
    for (const char* pert : {"unit_vec", "std", "sign"}) {
      CAPTURE(oracle_name);
      CAPTURE(pert);
      CraftCase c = random_case(7, 2, 30, true, 11);
      c.run(*build(oracle_name, std::string("perturbation = \"") + pert + "\"\n"));
      const auto mean = coordinate_mean(c.in.known);
      const Perturbation kind =
          std::string(pert) == "unit_vec"
              ? Perturbation::kUnitVec
              : (std::string(pert) == "std" ? Perturbation::kStd : Perturbation::kSign);
      const auto p = agr_perturbation(kind, c.in.known, mean);
      const double gamma = agr_tailored_gamma(c.in.known, mean, p, oracle, 10.0, tau);
      CHECK(gamma > 0.0);
      // The constraint holds at gamma and fails a search tolerance further.
      CHECK(agr_oracle_holds(c.in.known, mean, p, oracle, gamma));
      CHECK_FALSE(agr_oracle_holds(c.in.known, mean, p, oracle, gamma + tau));
      std::vector<double> expect(mean.size());
      for (std::size_t j = 0; j < mean.size(); ++j) expect[j] = mean[j] + gamma * p[j];
      check_all_equal_to(c, expect, 1e-6);
      // The submitted (float) update satisfies the constraint up to float rounding, measured
      // directly on the vectors.
      double bench = 0.0, mal = 0.0;
      for (std::size_t i = 0; i < c.known_store.size(); ++i) {
        double row_sum = 0.0, row_max = 0.0, di = 0.0;
        for (std::size_t j = 0; j < c.known_store.size(); ++j) {
          double s = 0.0;
          for (std::size_t t = 0; t < 30; ++t)
            s += std::pow(double(c.known_store[i][t]) - c.known_store[j][t], 2);
          row_sum += s;
          row_max = std::max(row_max, s);
        }
        for (std::size_t t = 0; t < 30; ++t)
          di += std::pow(double(c.mine_store[0][t]) - c.known_store[i][t], 2);
        bench = std::max(bench, oracle == AgrOracle::kMinMax ? row_max : row_sum);
        mal = oracle == AgrOracle::kMinMax ? std::max(mal, di) : mal + di;
      }
      CHECK(mal <= bench * (1 + 1e-5));
      CHECK(mal >= bench * (1 - 1e-3));  // near-tight: the bound is (almost) reached
    }
  }
}

TEST_CASE("pairwise distances from the Gram matrix match the direct sums") {
  using namespace agents::attacks;
  std::vector<std::vector<float>> u;
  for (std::size_t i = 0; i < 40; ++i) u.push_back(random_vector(64, 3, i, 5.0, 1.0));
  std::vector<std::span<const float>> s(u.begin(), u.end());
  const auto direct = pairwise_sq_distances_direct(s);
  const auto gram = pairwise_sq_distances_gram(s);
  REQUIRE(direct.size() == 1600);
  for (std::size_t i = 0; i < direct.size(); ++i)
    CHECK(std::abs(gram[i] - direct[i]) <= 1e-4 * (1.0 + direct[i]));
  CHECK(pairwise_sq_distances(s) == gram);  // 40 > kGramThreshold
}

TEST_CASE("fang_trim values lie in the stated intervals against the benign direction") {
  using agents::attacks::fang_trim_interval;
  // The four cases of the rule, b = 2.
  CHECK(fang_trim_interval(1.0, 0.5, 3.0, 2.0).lo == 0.25);
  CHECK(fang_trim_interval(1.0, 0.5, 3.0, 2.0).hi == 0.5);
  CHECK(fang_trim_interval(1.0, -0.5, 3.0, 2.0).lo == -1.0);
  CHECK(fang_trim_interval(-1.0, -4.0, 3.0, 2.0).lo == 3.0);
  CHECK(fang_trim_interval(-1.0, -4.0, 3.0, 2.0).hi == 6.0);
  CHECK(fang_trim_interval(-1.0, -4.0, -2.0, 2.0).lo == -2.0);
  CHECK(fang_trim_interval(-1.0, -4.0, -2.0, 2.0).hi == -1.0);

  CraftCase c = random_case(6, 3, 200, true, 5);
  for (auto& g : c.known_store) g[0] = 2.0f + g[0] * 0.1f;   // one all-positive coordinate
  for (auto& g : c.known_store) g[1] = -2.0f + g[1] * 0.1f;  // one all-negative coordinate
  c.run(*build("fang_trim"));
  const auto mean = mean_of(c.known_store);
  int pos = 0, neg = 0;
  for (std::size_t j = 0; j < 200; ++j) {
    double w_min = INFINITY, w_max = -INFINITY;
    for (const auto& g : c.known_store)
      w_min = std::min<double>(w_min, g[j]), w_max = std::max<double>(w_max, g[j]);
    const auto iv = fang_trim_interval(mean[j], w_min, w_max, 2.0);
    (mean[j] > 0 ? pos : neg)++;
    for (const auto& m : c.mine_store) {
      // Float rounding of the drawn double may cross a bound by half an ulp.
      CHECK(m[j] >= iv.lo - 1e-6 * std::abs(iv.lo));
      CHECK(m[j] <= iv.hi + 1e-6 * std::abs(iv.hi));
      if (mean[j] > 0)
        CHECK(m[j] <= w_min);  // pushes the coordinate down
      else
        CHECK(m[j] >= w_max);  // pushes it up
    }
  }
  CHECK(pos > 10);
  CHECK(neg > 10);
  CHECK(c.mine_store[0] != c.mine_store[1]);  // each identity draws its own values
}

TEST_CASE("fang_krum's crafted update is selected by Krum over known + crafted") {
  // Heterogeneous benign deltas: a small common drift, large per-client noise, so a point
  // near the origin is central to them.
  const std::size_t k = 9, f = 3, d = 40;
  std::vector<std::vector<float>> known;
  for (std::size_t i = 0; i < k; ++i) known.push_back(random_vector(d, 17, i, 0.05, 1.0));
  CraftCase c(known, std::vector<std::vector<float>>(f, std::vector<float>(d, 0.7f)));
  c.run(*build("fang_krum"));
  const auto mean = mean_of(known);
  const float lambda = std::abs(c.mine_store[0][0]);
  CHECK(lambda >= 1e-5f);
  for (const auto& m : c.mine_store) {
    CHECK(m == c.mine_store[0]);  // every identity submits the same update
    for (std::size_t j = 0; j < d; ++j)
      CHECK(m[j] == (mean[j] > 0 ? -lambda : (mean[j] < 0 ? lambda : 0.0f)));
  }
  // Our own Krum (Blanchard et al. 2017): score = sum of the m - f - 2 smallest squared
  // distances; the argmin must be one of the crafted copies (indices k..k+f-1).
  std::vector<std::vector<float>> all = known;
  for (const auto& m : c.mine_store) all.push_back(m);
  const std::size_t m = all.size(), nb = m - f - 2;
  std::size_t best = 0;
  double best_score = INFINITY;
  for (std::size_t i = 0; i < m; ++i) {
    std::vector<double> dist;
    for (std::size_t j = 0; j < m; ++j) {
      if (j == i) continue;
      double s = 0.0;
      for (std::size_t t = 0; t < d; ++t) s += std::pow(double(all[i][t]) - all[j][t], 2);
      dist.push_back(s);
    }
    std::sort(dist.begin(), dist.end());
    const double score = std::accumulate(dist.begin(), dist.begin() + nb, 0.0);
    if (score < best_score) best_score = score, best = i;
  }
  CHECK(best >= k);
  // krum_select agrees with the reference on the same distances.
  std::vector<std::span<const float>> spans(all.begin(), all.end());
  CHECK(agents::attacks::krum_select(agents::attacks::pairwise_sq_distances_direct(spans), m, f) ==
        best);
}

TEST_CASE("mimic copies the benign update furthest along the top principal direction") {
  // known[i] = base + a_i * e0 + tiny noise; the top principal direction is e0 and |a_i -
  // mean(a)| is largest for i = 2.
  const std::vector<float> a{0.0f, 1.0f, -3.0f, 2.0f, 0.5f, 0.2f};
  std::vector<std::vector<float>> known;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto g = random_vector(12, 23, i, 0.0, 0.01);
    for (float& x : g) x += 0.4f;
    g[0] += a[i];
    known.push_back(g);
  }
  // Several seeds: the power iteration's start (and the eigenvector's sign) varies with them.
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    CraftCase c(known, std::vector<std::vector<float>>(2, std::vector<float>(12)));
    c.in.seed = seed;
    c.run(*build("mimic"));
    CHECK(c.mine_store[0] == known[2]);
    CHECK(c.mine_store[1] == known[2]);
  }
}

TEST_CASE("neurotoxin zeroes exactly the top-ratio coordinates of the last global movement") {
  const std::size_t d = 20;
  std::vector<float> global(d), prev(d, 0.0f);
  // Distinct magnitudes, largest at 13 (-9.5) and 4 (9.0); then 7 (8.0)...
  for (std::size_t j = 0; j < d; ++j) global[j] = 0.1f * static_cast<float>(j);
  global[13] = -9.5f;
  global[4] = 9.0f;
  global[7] = 8.0f;
  auto mine = std::vector<std::vector<float>>{random_vector(d, 2, 0), random_vector(d, 2, 1)};
  CraftCase c({random_vector(d, 2, 9)}, mine, global, prev);
  c.run(*build("neurotoxin"));  // ratio 0.1 -> 2 coordinates
  for (std::size_t k = 0; k < 2; ++k)
    for (std::size_t j = 0; j < d; ++j)
      CHECK(c.mine_store[k][j] == (j == 13 || j == 4 ? 0.0f : mine[k][j]));
  CraftCase r({random_vector(d, 2, 9)}, mine, global, prev);
  r.run(*build("neurotoxin", "ratio = 0.15\n"));  // 3 coordinates
  for (std::size_t j = 0; j < d; ++j)
    CHECK(r.mine_store[0][j] == (j == 13 || j == 4 || j == 7 ? 0.0f : mine[0][j]));
  // No previous global: no mask.
  CraftCase e({random_vector(d, 2, 9)}, mine, global, {});
  e.run(*build("neurotoxin"));
  CHECK(e.mine_store == mine);
}

TEST_CASE("dba gives each identity one part of the trigger; the union is the global trigger") {
  // 6x6 image, default 4x4 square at the bottom right: 16 pixels, 4 parts of 4 (its rows).
  auto a = build("dba", "poison_fraction = 1.0\nvalue = 7.0\ntarget = 2\n");
  const auto& global = dynamic_cast<const agents::attacks::TriggerAttack&>(*a).trigger().pixels;
  REQUIRE(global.size() == 16);
  auto part = [&](std::size_t identity) {
    std::vector<float> f(36, 0.0f);
    std::vector<std::int32_t> labels{5};
    core::Rng rng(1, "dba", identity);
    a->poison(identity, 6, 1, f, 36, labels, rng);
    CHECK(labels[0] == 2);
    std::set<std::uint32_t> px;
    for (std::uint32_t i = 0; i < 36; ++i)
      if (f[i] == 7.0f) px.insert(i);
    return px;
  };
  std::set<std::uint32_t> all;
  for (std::size_t k = 0; k < 4; ++k) {
    const auto p = part(k);
    CHECK(p.size() == 4);
    CHECK(p != part(k + 1));
    all.insert(p.begin(), p.end());
  }
  CHECK(all == std::set<std::uint32_t>(global.begin(), global.end()));
  CHECK(part(0) == std::set<std::uint32_t>{14, 15, 16, 17});  // first row of the box
  CHECK(part(5) == part(1));                                  // identity k uses part k % 4
  // The success set carries the full global trigger.
  const data::Dataset test = tiny_test_set(36, {2, 0, 1});
  data::Dataset out;
  REQUIRE(a->success_set(test, out));
  CHECK(out.size() == 2);
  for (std::uint32_t px : global) CHECK(out.features(0, px) == 7.0f);
  CHECK_THROWS_AS(build("dba", "size = 1\n"), scenario::InputError);  // 4 parts of 1 pixel
}

TEST_CASE("gaussian noise has the configured standard deviation") {
  CraftCase c = random_case(3, 2, 100000, true);
  const auto before = c.mine_store;
  c.run(*build("gaussian", "sigma = 0.3\n"));
  auto [m, s] = moments(c.mine_store[0]);
  CHECK(std::abs(m) < 4 * 0.3 / std::sqrt(1e5));
  CHECK(std::abs(s / 0.3 - 1) < 4 / std::sqrt(2e5));
  CHECK(c.mine_store[0] != c.mine_store[1]);
  CraftCase d = random_case(3, 1, 100000, true);
  d.run(*build("gaussian", "sigma = 0.3\nmode = \"additive\"\n"));
  std::vector<float> diff(100000);
  for (std::size_t j = 0; j < diff.size(); ++j) diff[j] = d.mine_store[0][j] - before[0][j];
  std::tie(m, s) = moments(diff);
  CHECK(std::abs(s / 0.3 - 1) < 4 / std::sqrt(2e5));
}

TEST_CASE("free-riders: zero, stale, disguised and delta_weights") {
  const std::size_t d = 100000;
  for (const char* name : {"zero", "stale", "disguised", "delta_weights"}) {
    CAPTURE(name);
    CHECK_FALSE(build(name)->trains());
    CHECK_FALSE(build(name)->poisons_data());
  }
  CraftCase z = random_case(3, 2, 50, false);
  for (auto& m : z.mine_store) std::fill(m.begin(), m.end(), 1.0f);  // whatever was there
  z.run(*build("zero"));
  for (const auto& m : z.mine_store)
    CHECK(std::all_of(m.begin(), m.end(), [](float x) { return x == 0.0f; }));

  CraftCase s = random_case(3, 2, 50, false);
  s.run(*build("stale"));
  for (const auto& m : s.mine_store)
    for (std::size_t j = 0; j < 50; ++j) CHECK(m[j] == s.global[j] - s.previous[j]);
  CraftCase s0 = random_case(3, 1, 50, false);
  s0.in.previous_global = {};
  s0.run(*build("stale"));
  CHECK(std::all_of(s0.mine_store[0].begin(), s0.mine_store[0].end(),
                    [](float x) { return x == 0.0f; }));

  // disguised: N(0, (sigma t^-gamma)^2), round 4, sigma 0.1, gamma 0.5 -> sd 0.05.
  CraftCase g = random_case(3, 2, d, false);
  g.in.round = 4;
  g.run(*build("disguised", "sigma = 0.1\ngamma = 0.5\n"));
  for (const auto& m : g.mine_store) {
    const auto [mean, sd] = moments(m);
    CHECK(std::abs(mean) < 4 * 0.05 / std::sqrt(double(d)));
    CHECK(std::abs(sd / 0.05 - 1) < 4 / std::sqrt(2.0 * d));
  }
  CHECK(g.mine_store[0] != g.mine_store[1]);
  g.in.round = 16;  // sd 0.1 / 4
  g.run(*build("disguised", "sigma = 0.1\ngamma = 0.5\n"));
  CHECK(std::abs(moments(g.mine_store[0]).second / 0.025 - 1) < 4 / std::sqrt(2.0 * d));

  // delta_weights: scale * movement + N(0, sigma^2); sigma = 0 is the scaled stale update.
  CraftCase w = random_case(3, 1, d, false);
  w.run(*build("delta_weights", "scale = 2.0\nsigma = 0.0\n"));
  for (std::size_t j = 0; j < d; ++j)
    REQUIRE(w.mine_store[0][j] == 2.0f * (w.global[j] - w.previous[j]));
  CraftCase n = random_case(3, 1, d, false);
  n.run(*build("delta_weights"));
  std::vector<float> noise(d);
  for (std::size_t j = 0; j < d; ++j) noise[j] = n.mine_store[0][j] - (n.global[j] - n.previous[j]);
  CHECK(std::abs(moments(noise).second / 1e-3 - 1) < 0.02);  // float rounding adds a little
}
