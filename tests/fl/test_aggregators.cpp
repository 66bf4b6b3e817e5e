// Contract tests over every registered aggregation rule (permutation invariance, identical
// updates, 1 vs 2 threads, trust, robustness to huge outliers) and closed forms of the robust
// rules on small hand-made inputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <tbb/global_control.h>

#include "sim/core/rng.hpp"
#include "sim/fl/aggregators/coordinate.hpp"
#include "sim/fl/registries.hpp"

using namespace ledgerfl;

namespace {

// How the contract tests configure and judge each rule. A registered rule without an entry fails
// the tests (so a new rule has to say how it is tested).
struct Spec {
  std::string toml;       // extra keys of its table
  bool robust = false;    // claims to bound the influence of f huge outliers
  std::string unchanged;  // empty: identical updates come back unchanged; else why not
};
const std::map<std::string, Spec>& specs() {
  static const std::map<std::string, Spec> s{
      {"fedavg", {}},
      {"mean", {}},
      {"krum", {"", true, ""}},
      {"multi_krum", {"", true, ""}},
      {"median", {"", true, ""}},
      {"trimmed_mean", {"", true, ""}},
      {"bulyan", {"", true, ""}},
      // tau well below the honest spread, enough steps to travel from 0 to the honest mean.
      {"centered_clipping", {"tau = 2.0\niterations = 60\n", true, ""}},
      // A bound above every honest norm: identical updates pass unclipped. Norm bounding limits
      // an outlier's norm, not its bias, so it does not claim the outlier bound.
      {"norm_bound", {"max_norm = 1e9\n", false, ""}},
      {"geometric_median", {"iterations = 100\n", true, ""}},
      {"foolsgold",
       {"", false,
        "identical updates are indistinguishable from Sybils: FoolsGold gives them weight 0"}},
      {"fltrust", {"", true, ""}},
      {"dnc", {"", true, ""}},
      {"flame", {"noise = 0\n", true, ""}},
      {"signguard", {"", true, ""}},
      // Default: s = 2, inner median (4 outliers of 20 pollute at most 4 of the 10 buckets).
      {"bucketing", {"", true, ""}},
  };
  return s;
}

struct Built {
  std::unique_ptr<scenario::Document> doc;
  std::unique_ptr<fl::Aggregator> agg;
};

Built build(const fl::AggregatorRegistry& reg, const std::string& name, const std::string& extra) {
  Built b;
  b.doc = scenario::Document::parse("[a]\ntype = \"" + name + "\"\n" + extra, "t.toml");
  auto view = b.doc->root().table("a");
  view.mark_used("type");
  b.agg = reg.find(name)->factory(view);
  b.doc->check_unused();
  return b;
}

struct Fixture {
  fl::FlRegistries regs;
  Fixture() { fl::register_builtin_fl(regs); }
  // The rule `name` configured by its spec (plus `extra`); a fresh object (stateful rules).
  Built make(const std::string& name, const std::string& extra = "") const {
    const auto it = specs().find(name);
    REQUIRE_MESSAGE(it != specs().end(), "no test spec for aggregator " << name);
    return build(regs.aggregators, name, it->second.toml + extra);
  }
};

std::vector<std::vector<float>> gaussian(std::size_t n, std::size_t dim, std::uint64_t seed,
                                         double sd = 1.0) {
  core::Rng r(seed, "test_aggregators");
  std::vector<std::vector<float>> d(n, std::vector<float>(dim));
  for (auto& v : d)
    for (auto& x : v) x = static_cast<float>(sd * r.normal());
  return d;
}

std::vector<fl::ClientUpdate> as_updates(const std::vector<std::vector<float>>& d) {
  std::vector<fl::ClientUpdate> u;
  for (std::size_t i = 0; i < d.size(); ++i)
    u.push_back({1000 - 7 * i, 1.0 + static_cast<double>(i % 3), d[i]});
  return u;
}

fl::AggregationContext context(std::size_t f, const std::vector<float>* root) {
  fl::AggregationContext ctx;
  ctx.round = 3;
  ctx.seed = 42;
  ctx.byzantine = f;
  if (root)
    ctx.root_update = [root](std::span<float> g) {
      std::copy(root->begin(), root->end(), g.begin());
    };
  return ctx;
}

double dist(std::span<const float> a, std::span<const float> b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(s);
}
double norm(std::span<const float> a) {
  std::vector<float> z(a.size(), 0.0f);
  return dist(a, z);
}

}  // namespace

TEST_CASE("every registered aggregator has a test spec") {
  Fixture fx;
  for (const auto& e : fx.regs.aggregators.entries())
    CHECK_MESSAGE(specs().count(e.doc.name) == 1, "no test spec for aggregator " << e.doc.name);
}

TEST_CASE("every aggregator: permutation invariance to the bit, trust in [0, 1] per update") {
  Fixture fx;
  const std::size_t n = 15, dim = 5000;  // dim spans several blocks of every kernel
  const auto deltas = gaussian(n, dim, 1);
  const auto root = gaussian(1, dim, 2)[0];
  const auto ups = as_updates(deltas);
  auto perm = ups;
  core::Rng r(3, "perm");
  r.shuffle(std::span<fl::ClientUpdate>(perm));
  const auto ctx = context(2, &root);
  for (const auto& e : fx.regs.aggregators.entries()) {
    INFO(e.doc.name);
    std::vector<float> a(dim), b(dim);
    fl::AggregationReport ra, rb;
    fx.make(e.doc.name).agg->aggregate(ups, a, ctx, &ra);
    fx.make(e.doc.name).agg->aggregate(perm, b, ctx, &rb);
    CHECK(a == b);
    REQUIRE(ra.trust.size() == n);
    REQUIRE(rb.trust.size() == n);
    std::map<std::size_t, double> by_client;
    for (std::size_t i = 0; i < n; ++i) by_client[ups[i].client] = ra.trust[i];
    for (std::size_t i = 0; i < n; ++i) {
      CHECK(ra.trust[i] >= 0.0);
      CHECK(ra.trust[i] <= 1.0);
      CHECK(rb.trust[i] == by_client[perm[i].client]);
    }
    CHECK(std::all_of(a.begin(), a.end(), [](float x) { return std::isfinite(x); }));
  }
}

TEST_CASE("every aggregator: identical honest updates come back unchanged") {
  Fixture fx;
  const std::size_t n = 9, dim = 3000;
  const auto x = gaussian(1, dim, 4)[0];
  const std::vector<std::vector<float>> same(n, x);
  const auto ups = as_updates(same);
  const auto ctx = context(1, &x);
  for (const auto& e : fx.regs.aggregators.entries()) {
    INFO(e.doc.name);
    const std::string& why = specs().at(e.doc.name).unchanged;
    std::vector<float> out(dim);
    fx.make(e.doc.name).agg->aggregate(ups, out, ctx, nullptr);
    if (!why.empty()) {
      MESSAGE(e.doc.name << " not checked: " << why);
      continue;
    }
    CHECK(dist(out, x) <= 1e-6 * norm(x));
  }
}

TEST_CASE("every aggregator: the same bits with 1 and 2 threads") {
  Fixture fx;
  const std::size_t n = 40, dim = 70000;
  const auto deltas = gaussian(n, dim, 5);
  const auto root = gaussian(1, dim, 6)[0];
  const auto ups = as_updates(deltas);
  const auto ctx = context(3, &root);
  for (const auto& e : fx.regs.aggregators.entries()) {
    INFO(e.doc.name);
    // With the rules' own noise switched on where they have some.
    auto make = [&] {
      if (e.doc.name == "flame") return build(fx.regs.aggregators, "flame", "noise = 0.01\n");
      return fx.make(e.doc.name, e.doc.name == "norm_bound" ? "sigma = 0.01\n" : "");
    };
    std::vector<float> a(dim), b(dim);
    fl::AggregationReport ra, rb;
    {
      tbb::global_control c(tbb::global_control::max_allowed_parallelism, 1);
      make().agg->aggregate(ups, a, ctx, &ra);
    }
    {
      tbb::global_control c(tbb::global_control::max_allowed_parallelism, 2);
      make().agg->aggregate(ups, b, ctx, &rb);
    }
    CHECK(a == b);
    CHECK(ra.trust == rb.trust);
  }
}

TEST_CASE("robust aggregators: f outliers of norm 1e6 stay within 3 x the honest spread") {
  Fixture fx;
  const std::size_t honest = 16, f = 4, dim = 2000;
  const auto mu = gaussian(1, dim, 7)[0];
  auto deltas = gaussian(honest + f, dim, 8, 0.1);
  std::vector<float> hmean(dim, 0.0f);
  for (std::size_t k = 0; k < honest; ++k)
    for (std::size_t i = 0; i < dim; ++i) deltas[k][i] += mu[i];
  for (std::size_t i = 0; i < dim; ++i) {
    double s = 0;
    for (std::size_t k = 0; k < honest; ++k) s += deltas[k][i];
    hmean[i] = static_cast<float>(s / double(honest));
  }
  double spread = 0;
  for (std::size_t k = 0; k < honest; ++k) spread += std::pow(dist(deltas[k], hmean), 2);
  spread = std::sqrt(spread / double(honest));
  for (std::size_t k = honest; k < honest + f; ++k) {
    const double s = 1e6 / norm(deltas[k]);
    for (auto& v : deltas[k]) v = static_cast<float>(v * s);
  }
  // The outliers get client ids spread among the honest ones (as_updates numbers by position;
  // shuffle the positions so the outliers are not last in client order).
  core::Rng r(9, "positions");
  r.shuffle(std::span<std::vector<float>>(deltas));
  const auto ups = as_updates(deltas);
  std::vector<float> root = hmean;  // FLTrust's server update: the honest direction
  const auto ctx = context(f, &root);
  {  // the bound discriminates: the plain mean is far outside it
    std::vector<float> out(dim);
    fx.make("mean").agg->aggregate(ups, out, ctx, nullptr);
    CHECK(dist(out, hmean) > 1000.0 * spread);
  }
  for (const auto& e : fx.regs.aggregators.entries()) {
    if (!specs().at(e.doc.name).robust) continue;
    INFO(e.doc.name);
    std::vector<float> out(dim);
    fx.make(e.doc.name).agg->aggregate(ups, out, ctx, nullptr);
    MESSAGE(e.doc.name << ": ||out - honest mean|| / honest spread = "
                       << dist(out, hmean) / spread);
    CHECK(dist(out, hmean) <= 3.0 * spread);
  }
}

namespace {
// Five hand-made 3-d updates for closed forms.
const std::vector<std::vector<float>> kFive{
    {1, 10, -3}, {2, -50, -1}, {9, 20, 0}, {4, 30, 8}, {100, 40, 2}};
}  // namespace

TEST_CASE("median and trimmed_mean: closed forms on five vectors") {
  Fixture fx;
  const auto ups = as_updates(kFive);
  std::vector<float> out(3);
  fx.make("median").agg->aggregate(ups, out, context(0, nullptr), nullptr);
  CHECK(out == std::vector<float>{4, 20, 0});
  // f = 1: drop the largest and smallest per coordinate, average the middle three.
  fx.make("trimmed_mean", "f = 1\n").agg->aggregate(ups, out, context(0, nullptr), nullptr);
  CHECK(out[0] == doctest::Approx(5.0));        // (2 + 4 + 9) / 3
  CHECK(out[1] == doctest::Approx(20.0));       // (10 + 20 + 30) / 3
  CHECK(out[2] == doctest::Approx(1.0 / 3.0));  // (-1 + 0 + 2) / 3
  // beta = 0.4: floor(0.4 * 5) = 2 per side: the median.
  fx.make("trimmed_mean", "beta = 0.4\n").agg->aggregate(ups, out, context(0, nullptr), nullptr);
  CHECK(out == std::vector<float>{4, 20, 0});
  // f from the context when the key is absent (f = 2: the median again).
  fx.make("trimmed_mean").agg->aggregate(ups, out, context(2, nullptr), nullptr);
  CHECK(out == std::vector<float>{4, 20, 0});
  // Even count: the mean of the two middle values.
  const std::vector<std::vector<float>> first4(kFive.begin(), kFive.begin() + 4);
  const auto four = as_updates(first4);
  fx.make("median").agg->aggregate(four, out, context(0, nullptr), nullptr);
  CHECK(out[0] == doctest::Approx(3.0));
  CHECK(out[1] == doctest::Approx(15.0));
  CHECK(out[2] == doctest::Approx(-0.5));
}

TEST_CASE("krum picks an update of the honest cluster; multi_krum excludes the outliers") {
  Fixture fx;
  // Six honest points near (1, 1, 1) and two Byzantine ones far away; f = 2, n = 8 > 2f + 2.
  const std::vector<std::vector<float>> d{
      {1.0f, 1.1f, 0.9f}, {50, 0, 0},  {0.9f, 1.0f, 1.0f},   {1.1f, 1.0f, 1.1f},
      {1.0f, 0.9f, 1.0f}, {0, -40, 3}, {1.05f, 1.0f, 0.95f}, {0.95f, 1.05f, 1.0f}};
  const auto ups = as_updates(d);
  std::vector<float> out(3);
  fl::AggregationReport rep;
  fx.make("krum").agg->aggregate(ups, out, context(2, nullptr), &rep);
  bool is_honest = false;
  for (std::size_t k : {0, 2, 3, 4, 6, 7}) is_honest |= out == d[k];
  CHECK(is_honest);
  CHECK(std::count(rep.trust.begin(), rep.trust.end(), 1.0) == 1);
  CHECK(rep.trust[1] == 0.0);
  CHECK(rep.trust[5] == 0.0);
  fx.make("multi_krum").agg->aggregate(ups, out, context(2, nullptr), &rep);
  CHECK(rep.trust == std::vector<double>{1, 0, 1, 1, 1, 0, 1, 1});
  CHECK(out[0] == doctest::Approx((1.0 + 0.9 + 1.1 + 1.0 + 1.05 + 0.95) / 6));
  // m = 2: the two lowest scores only.
  fx.make("multi_krum", "m = 2\n").agg->aggregate(ups, out, context(2, nullptr), &rep);
  CHECK(std::count(rep.trust.begin(), rep.trust.end(), 1.0) == 2);
  CHECK(rep.trust[1] == 0.0);
  CHECK(rep.trust[5] == 0.0);
}

TEST_CASE("bound checks name the keys; a small round lowers f with a note") {
  Fixture fx;
  auto krum = fx.make("krum", "f = 5\n");
  CHECK(krum.agg->configured_f(1) == 5);
  CHECK(krum.agg->check(12, 5) ==
        "aggregator krum needs n > 2f + 2 updates: [aggregator] f = 5 with [rounds] per_round = "
        "12; lower f or raise per_round");
  CHECK(krum.agg->check(13, 5).empty());
  auto plain = fx.make("krum");
  CHECK(plain.agg->configured_f(3) == 3);
  CHECK(plain.agg->check(8, 3).find("expected Byzantine count") != std::string::npos);
  CHECK(fx.make("bulyan").agg->check(10, 2) != "");  // 10 < 4 * 2 + 3
  CHECK(fx.make("bulyan").agg->check(11, 2) == "");
  CHECK(fx.make("trimmed_mean").agg->check(4, 2) != "");
  CHECK(fx.make("fedavg").agg->check(4, 2) == "");
  // At run time: 12 updates with f = 5 -> f = 4, and a note.
  const auto d = gaussian(12, 10, 11);
  std::vector<float> out(10);
  fl::AggregationReport rep;
  CHECK_NOTHROW(krum.agg->aggregate(as_updates(d), out, context(0, nullptr), &rep));
  CHECK(rep.note == "krum: f lowered from 5 to 4 (only 12 updates)");
}

TEST_CASE("geometric_median of three collinear points is the middle one") {
  Fixture fx;
  const std::vector<float> e{0.5f, -1.0f, 2.0f, 0.25f};
  std::vector<std::vector<float>> d;
  for (float t : {0.0f, 1.0f, 3.0f}) {
    std::vector<float> p(4);
    for (std::size_t i = 0; i < 4; ++i) p[i] = t * e[i];
    d.push_back(p);
  }
  // Equal weights (the middle point minimises the sum of distances).
  auto ups = as_updates(d);
  for (auto& u : ups) u.weight = 1.0;
  std::vector<float> out(4);
  fx.make("geometric_median").agg->aggregate(ups, out, context(0, nullptr), nullptr);
  CHECK(dist(out, e) <= 1e-5);
}

TEST_CASE("centered_clipping: closed form of L = 2 steps, then the next round's centre") {
  Fixture fx;
  auto cc = build(fx.regs.aggregators, "centered_clipping", "tau = 1.0\niterations = 2\n");
  const std::vector<std::vector<float>> d{{0.0f}, {10.0f}};
  const auto ups = as_updates(d);
  std::vector<float> out(1);
  fl::AggregationReport rep;
  auto ctx = context(0, nullptr);
  ctx.round = 0;
  // v0 = 0; step 1: clip(0 - 0) = 0, clip(10) = 1 -> v = 0.5; step 2: clip(-0.5) = -0.5,
  // clip(9.5) = 1 -> v = 0.75. The last step's clip factors: 1 and 1 / 9.5.
  cc.agg->aggregate(ups, out, ctx, &rep);
  CHECK(out[0] == doctest::Approx(0.75));
  // Given order: client 1000 has {0}, client 993 has {10}.
  CHECK(rep.trust[0] == doctest::Approx(1.0));
  CHECK(rep.trust[1] == doctest::Approx(1.0 / 9.5));
  // Round 1 starts from 0.75: 0.75 + (-0.75 + 1) / 2 = 0.875, then 0.875 + 0.125 / 2 = 0.9375.
  ctx.round = 1;
  cc.agg->aggregate(ups, out, ctx, &rep);
  CHECK(out[0] == doctest::Approx(0.9375));
  // A second call in the same round starts from the same centre.
  cc.agg->aggregate(ups, out, ctx, &rep);
  CHECK(out[0] == doctest::Approx(0.9375));
  // An aggregation of a subset (a contribution score) does not become the next centre:
  // round 2 starts from 0.9375 -> 0.96875 -> 0.984375, as if the subset call had not happened.
  auto sub = ctx;
  sub.round_result = false;
  const std::vector<std::vector<float>> only{{10.0f}};
  cc.agg->aggregate(as_updates(only), out, sub, nullptr);
  ctx.round = 2;
  cc.agg->aggregate(ups, out, ctx, &rep);
  CHECK(out[0] == doctest::Approx(0.984375));
}

TEST_CASE("fltrust: needs the root update; trust follows the cosine") {
  Fixture fx;
  auto ft = fx.make("fltrust");
  CHECK(ft.agg->needs_root_update());
  const std::vector<std::vector<float>> d{{2, 0}, {0, 3}, {-1, 0}, {1, 1}};
  const auto ups = as_updates(d);
  std::vector<float> out(2);
  CHECK_THROWS_AS(ft.agg->aggregate(ups, out, context(0, nullptr), nullptr), std::logic_error);
  const std::vector<float> root{1, 0};
  fl::AggregationReport rep;
  ft.agg->aggregate(ups, out, context(0, &root), &rep);
  // TS = (1, 0, 0, 1/sqrt 2); rescaled to norm 1: (1, 0), ., ., (1/sqrt 2, 1/sqrt 2).
  const double s = 1.0 / std::sqrt(2.0);
  CHECK(out[0] == doctest::Approx((1.0 + s * s) / (1.0 + s)));
  CHECK(out[1] == doctest::Approx((s * s) / (1.0 + s)));
  CHECK(rep.trust[1] == 0.0);
  CHECK(rep.trust[2] == 0.0);
}

TEST_CASE("foolsgold: Sybil copies get weight 0, distinct clients keep theirs") {
  Fixture fx;
  auto d = gaussian(5, 500, 12);
  const auto sybil = gaussian(1, 500, 13)[0];
  for (int i = 0; i < 3; ++i) d.push_back(sybil);
  auto ups = as_updates(d);
  for (auto& u : ups) u.weight = 1.0;
  std::vector<float> out(500);
  fl::AggregationReport rep;
  fx.make("foolsgold").agg->aggregate(ups, out, context(0, nullptr), &rep);
  for (std::size_t k = 0; k < 5; ++k) CHECK(rep.trust[k] > 0.5);
  for (std::size_t k = 5; k < 8; ++k) CHECK(rep.trust[k] == 0.0);
  // The output is a weighted mean of the honest clients only: no component along the Sybil.
  double along = 0, honest_along = 0;
  for (std::size_t i = 0; i < 500; ++i) along += double(out[i]) * sybil[i];
  for (std::size_t k = 0; k < 5; ++k) {
    double s = 0;
    for (std::size_t i = 0; i < 500; ++i) s += double(d[k][i]) * sybil[i];
    honest_along = std::max(honest_along, std::abs(s));
  }
  CHECK(std::abs(along) <= honest_along);
  // With history: the second round's cosine uses cumulative deltas; Sybils stay at 0.
  auto fg = fx.make("foolsgold", "history = true\n");
  auto ctx = context(0, nullptr);
  for (std::int64_t r = 0; r < 2; ++r) {
    ctx.round = r;
    fg.agg->aggregate(ups, out, ctx, &rep);
    for (std::size_t k = 5; k < 8; ++k) CHECK(rep.trust[k] == 0.0);
  }
}

TEST_CASE("noise of norm_bound and flame: keyed by seed and round, of the configured size") {
  Fixture fx;
  const std::size_t n = 10, dim = 40000;
  const std::vector<std::vector<float>> same(n, std::vector<float>(dim, 0.0f));
  const auto ups = as_updates(same);
  auto ctx = context(0, nullptr);
  std::vector<float> a(dim), b(dim), c(dim);
  auto nb = fx.make("norm_bound", "sigma = 0.5\n");
  nb.agg->aggregate(ups, a, ctx, nullptr);
  nb.agg->aggregate(ups, b, ctx, nullptr);
  CHECK(a == b);
  double ss = 0;
  for (float x : a) ss += double(x) * x;
  CHECK(std::sqrt(ss / double(dim)) == doctest::Approx(0.5).epsilon(0.02));
  ctx.round = 4;
  nb.agg->aggregate(ups, c, ctx, nullptr);
  CHECK(a != c);
  // FLAME: lambda x median norm (identical updates of norm 2: all admitted, none clipped).
  std::vector<std::vector<float>> ones(n, std::vector<float>(dim, 0.0f));
  for (auto& v : ones) v[0] = 2.0f;
  auto fl2 = build(fx.regs.aggregators, "flame", "noise = 0.1\n");
  fl2.agg->aggregate(as_updates(ones), a, ctx, nullptr);
  ss = 0;
  for (std::size_t i = 1; i < dim; ++i) ss += double(a[i]) * a[i];
  CHECK(std::sqrt(ss / double(dim - 1)) == doctest::Approx(0.2).epsilon(0.02));
}

// Inputs of the selection tests: 0 normal, 1 many ties, 2 sorted, 3 reversed, 4 normal with a
// 1e30 outlier every 7th value, 5 constant.
static std::vector<float> selection_input(int kind, std::size_t n, core::Rng& r) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    switch (kind) {
      case 0:
        v[i] = static_cast<float>(r.normal());
        break;
      case 1:
        v[i] = static_cast<float>(r.below(3));
        break;
      case 2:
        v[i] = static_cast<float>(i);
        break;
      case 3:
        v[i] = static_cast<float>(n - i);
        break;
      case 4:
        v[i] = i % 7 == 0 ? 1e30f : static_cast<float>(r.normal());
        break;
      default:
        v[i] = 7.0f;
        break;
    }
  }
  return v;
}

TEST_CASE("select_kth agrees with a full sort (ties, sorted, constant and random inputs)") {
  core::Rng r(14, "select");
  for (std::size_t n : {1, 2, 5, 33, 100, 257, 1000}) {
    for (int kind = 0; kind < 5; ++kind) {
      const std::vector<float> v = selection_input(kind == 4 ? 5 : kind, n, r);
      auto sorted = v;
      std::sort(sorted.begin(), sorted.end());
      for (std::size_t k : {std::size_t{0}, n / 4, n / 2, n - 1}) {
        auto w = v;
        fl::aggs::select_kth(w, k);
        CHECK(w[k] == sorted[k]);
        CHECK(std::all_of(w.begin(), w.begin() + k, [&](float x) { return x <= w[k]; }));
        CHECK(std::all_of(w.begin() + k, w.end(), [&](float x) { return x >= w[k]; }));
      }
    }
  }
}

TEST_CASE("kth_smallest, median_of and trimmed_mean_of agree with a full sort; input unchanged") {
  core::Rng r(15, "kth");
  fl::aggs::SelectScratch s;
  for (std::size_t n : {1, 2, 3, 15, 16, 17, 47, 48, 49, 100, 257, 1000, 1001}) {
    for (int kind = 0; kind < 6; ++kind) {
      const std::vector<float> v = selection_input(kind, n, r);
      const auto orig = v;
      auto sorted = v;
      std::sort(sorted.begin(), sorted.end());
      for (std::size_t k : {std::size_t{0}, n / 4, n / 2, n - 1}) {
        CHECK(fl::aggs::kth_smallest(v, k, s) == sorted[k]);
      }
      const std::size_t h = n / 2;
      const float med =
          n % 2 ? sorted[h] : static_cast<float>(0.5 * (double(sorted[h - 1]) + sorted[h]));
      CHECK(fl::aggs::median_of(v, s) == med);  // an order statistic: exact
      for (std::size_t b : {std::size_t{0}, std::size_t{1}, n / 10, (n - 1) / 2}) {
        if (2 * b >= n) continue;
        double ref = 0;
        for (std::size_t i = b; i < n - b; ++i) ref += sorted[i];
        ref /= double(n - 2 * b);
        const float got = fl::aggs::trimmed_mean_of(v, b, s);
        if (kind == 0 || kind == 4)
          CHECK(got == doctest::Approx(ref).epsilon(1e-6));
        else
          CHECK(got == static_cast<float>(ref));  // small integers: every sum is exact
      }
      CHECK(v == orig);
    }
  }
}

TEST_CASE(
    "bulyan: Krum-selects n - 2f, then the mean of the theta - 2f values nearest the median") {
  Fixture fx;
  // n = 7, f = 1: theta = 5, beta = 3. Coordinate 0 of the selected, e.g. {0, 1, 2, 2.5, 10}:
  // median 2, nearest three {2, 2.5, 1}; coordinate 1: {5, 5, 5, 5, 5}.
  const std::vector<std::vector<float>> d{{0, 5},    {1, 5},    {100, 5}, {2, 5},
                                          {2.5f, 5}, {-100, 5}, {10, 5}};
  std::vector<float> out(2);
  fl::AggregationReport rep;
  fx.make("bulyan", "f = 1\n").agg->aggregate(as_updates(d), out, context(0, nullptr), &rep);
  CHECK(out[0] == doctest::Approx(5.5 / 3));
  CHECK(out[1] == doctest::Approx(5.0));
  // theta = 5 selected. (Repeated Krum runs on the shrinking remainder: its last picks, from
  // 3 points with one neighbour each, can take a far point, here -100 on a tie; the second
  // stage is what removes it. Either way the nearest-to-median mean is the same.)
  CHECK(std::count(rep.trust.begin(), rep.trust.end(), 1.0) == 5);
  CHECK(rep.trust[1] == 1.0);  // the tight points are picked first
  CHECK(rep.trust[3] == 1.0);
  CHECK(rep.trust[4] == 1.0);
  // Symmetric ties at the cut: {0, 1, 2, 3, 4} -> deviations 2, 1, 0, 1, 2; beta = 3 takes
  // 2 and both ties 1 and 3.
  const std::vector<std::vector<float>> e{{0}, {1}, {100}, {2}, {3}, {-100}, {4}};
  std::vector<float> o1(1);
  fx.make("bulyan", "f = 1\n").agg->aggregate(as_updates(e), o1, context(0, nullptr), nullptr);
  CHECK(o1[0] == doctest::Approx(2.0));
}

TEST_CASE("coordinate_wise hands each coordinate's values in row order (tile and tail paths)") {
  core::Rng r(16, "gather");
  for (std::size_t n : {5, 16, 37, 64}) {
    const std::size_t dim = 300;  // two blocks of 128 and a tail of 44: full and partial tiles
    std::vector<std::vector<float>> rows(n, std::vector<float>(dim));
    for (auto& row : rows)
      for (float& x : row) x = static_cast<float>(r.normal());
    std::vector<const float*> ptr;
    for (const auto& row : rows) ptr.push_back(row.data());
    std::vector<float> out(dim), expect(dim);
    // A reducer that depends on the order: sum of (index + 1) x value, in double.
    auto weigh = [](std::span<const float> v) {
      double s = 0;
      for (std::size_t i = 0; i < v.size(); ++i) s += double(i + 1) * v[i];
      return static_cast<float>(s);
    };
    fl::aggs::coordinate_wise(ptr, out, [&](std::span<float> v) { return weigh(v); });
    std::vector<float> col(n);
    for (std::size_t c = 0; c < dim; ++c) {
      for (std::size_t k = 0; k < n; ++k) col[k] = rows[k][c];
      expect[c] = weigh(col);
    }
    CHECK(out == expect);
  }
}

TEST_CASE("bucketing: s = 1 is the inner rule alone, s >= n the mean of all updates") {
  Fixture fx;
  const auto d = gaussian(9, 3000, 15);
  const auto ups = as_updates(d);  // sample weights 1, 2, 3, 1, 2, ...
  const auto ctx = context(2, nullptr);
  std::vector<float> alone(3000), one(3000);
  fx.make("median").agg->aggregate(ups, alone, ctx, nullptr);
  fx.make("bucketing", "s = 1\n").agg->aggregate(ups, one, ctx, nullptr);
  CHECK(one == alone);  // buckets of one: the same values, and the median ignores their order
  // One bucket: the inner median of a single vector is that vector, the bucket mean.
  std::vector<float> mean(3000), all(3000), fedavg(3000), wall(3000);
  fx.make("mean").agg->aggregate(ups, mean, ctx, nullptr);
  fx.make("bucketing", "s = 9\n").agg->aggregate(ups, all, ctx, nullptr);
  CHECK(dist(all, mean) <= 1e-6 * norm(mean));
  fx.make("fedavg").agg->aggregate(ups, fedavg, ctx, nullptr);
  fx.make("bucketing", "s = 20\nweighted = true\n").agg->aggregate(ups, wall, ctx, nullptr);
  CHECK(dist(wall, fedavg) <= 1e-6 * norm(fedavg));
  CHECK(dist(mean, fedavg) > 1e-3 * norm(fedavg));  // the weights do differ
}

TEST_CASE("bucketing + krum (f = 0): the output is the mean of the one chosen bucket") {
  Fixture fx;
  const auto d = gaussian(8, 50, 16);
  const auto ups = as_updates(d);
  std::vector<float> out(50);
  fl::AggregationReport rep;
  fx.make("bucketing", "inner = \"krum\"\nf = 0\n")
      .agg->aggregate(ups, out, context(0, nullptr), &rep);
  REQUIRE(rep.trust.size() == 8);
  std::vector<std::size_t> chosen;
  for (std::size_t k = 0; k < 8; ++k) {
    CHECK((rep.trust[k] == 0.0 || rep.trust[k] == 1.0));
    if (rep.trust[k] == 1.0) chosen.push_back(k);
  }
  REQUIRE(chosen.size() == 2);  // krum keeps one bucket of s = 2 updates
  std::vector<float> pair(50);
  for (std::size_t i = 0; i < 50; ++i)
    pair[i] = static_cast<float>(0.5 * (double(d[chosen[0]][i]) + d[chosen[1]][i]));
  CHECK(dist(out, pair) <= 1e-6 * norm(pair));
}

TEST_CASE("bucketing beats the median alone on heterogeneous honest updates") {
  // Six clients at 0 and four at 10 (mean 4): the coordinate median is 0. With buckets of two,
  // the bucket means are 0, 5 or 10, and their median is 5 unless the permutation pairs the four
  // 10s among themselves (3 x 15 of the 945 pairings, p = 1/21), when it is 0.
  Fixture fx;
  std::vector<std::vector<float>> d(10, std::vector<float>(4, 0.0f));
  for (std::size_t k : {1, 4, 6, 9}) std::fill(d[k].begin(), d[k].end(), 10.0f);
  const auto ups = as_updates(d);
  std::vector<float> out(4);
  fx.make("median").agg->aggregate(ups, out, context(0, nullptr), nullptr);
  CHECK(out[0] == 0.0f);
  auto b = fx.make("bucketing");
  double err = 0;
  int fives = 0;
  const int runs = 200;
  for (int r = 0; r < runs; ++r) {
    auto ctx = context(0, nullptr);
    ctx.round = r;  // a new permutation every round
    b.agg->aggregate(ups, out, ctx, nullptr);
    CHECK((out[0] == 0.0f || out[0] == 5.0f));
    CHECK(out[3] == out[0]);
    fives += out[0] == 5.0f;
    err += std::abs(out[0] - 4.0);
  }
  MESSAGE("bucketing median = 5 in " << fives << " of " << runs << " rounds");
  CHECK(fives >= 170);      // E = 190.5, sd ~ 3
  CHECK(err / runs < 1.5);  // the median alone errs by 4
}

TEST_CASE("bucketing: the inner rule's bound on ceil(n/s) buckets, its f, its root update") {
  Fixture fx;
  auto b = fx.make("bucketing", "inner = \"krum\"\nf = 2\n");
  CHECK(b.agg->configured_f(7) == 2);
  CHECK(b.agg->check(13, 2).empty());  // 7 buckets > 2 * 2 + 2
  const std::string msg = b.agg->check(12, 2);
  CHECK(msg.find("ceil(12 / 2) = 6 bucket means") != std::string::npos);
  CHECK(msg.find("aggregator krum needs n > 2f + 2") != std::string::npos);
  CHECK(fx.make("bucketing", "s = 3\n").agg->check(6, 1) != "");  // median: 2 buckets, 2f < 2
  CHECK(fx.make("bucketing", "s = 3\n").agg->check(7, 1) == "");
  CHECK(fx.make("bucketing").agg->configured_f(3) == 3);
  CHECK(fx.make("bucketing", "inner = \"fltrust\"\n").agg->needs_root_update());
  CHECK_FALSE(fx.make("bucketing").agg->needs_root_update());
  // A small round lowers the inner f, and the note says where.
  fl::AggregationReport rep;
  std::vector<float> out(10);
  const auto d = gaussian(10, 10, 17);
  b.agg->aggregate(as_updates(d), out, context(0, nullptr), &rep);
  CHECK(rep.note == "bucketing (5 buckets): krum: f lowered from 2 to 1 (only 5 updates)");
  // Bad input names the key.
  auto bad = [&](const std::string& extra, const std::string& want) {
    try {
      fx.make("bucketing", extra);
      FAIL("no error for " << extra);
    } catch (const scenario::InputError& e) {
      CHECK_MESSAGE(std::string(e.what()).find(want) != std::string::npos, e.what());
    }
  };
  bad("inner = \"bucketing\"\n", "a.inner");
  bad("inner = \"medians\"\n", "did you mean \"median\"");
  bad("s = 0\n", "a.s");
}

TEST_CASE("bucketing + centered_clipping: only the round's result moves the inner centre") {
  Fixture fx;
  const auto d = gaussian(6, 20, 18, 3.0);
  const auto ups = as_updates(d);
  const std::vector<fl::ClientUpdate> subset(ups.begin(), ups.begin() + 3);
  auto a = fx.make("bucketing", "inner = \"centered_clipping\"\ntau = 1.0\n");
  auto b = fx.make("bucketing", "inner = \"centered_clipping\"\ntau = 1.0\n");
  std::vector<float> oa(20), ob(20);
  auto ctx = context(0, nullptr);
  ctx.round = 0;
  a.agg->aggregate(ups, oa, ctx, nullptr);
  b.agg->aggregate(ups, ob, ctx, nullptr);
  auto sub = ctx;
  sub.round_result = false;
  b.agg->aggregate(subset, ob, sub, nullptr);  // a contribution score's subset
  ctx.round = 1;
  a.agg->aggregate(ups, oa, ctx, nullptr);
  b.agg->aggregate(ups, ob, ctx, nullptr);
  CHECK(oa == ob);
  // And the centre does move: round 1 differs from a fresh rule's round 1.
  auto c = fx.make("bucketing", "inner = \"centered_clipping\"\ntau = 1.0\n");
  std::vector<float> oc(20);
  c.agg->aggregate(ups, oc, ctx, nullptr);
  CHECK(oc != oa);
}
