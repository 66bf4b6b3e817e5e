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
