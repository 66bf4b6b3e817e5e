// Contract tests over the aggregator registry: permutation invariance to the bit, closed forms.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include <tbb/global_control.h>

#include "sim/core/rng.hpp"
#include "sim/fl/registries.hpp"

using namespace ledgerfl;

namespace {
struct Fixture {
  fl::FlRegistries regs;
  Fixture() { fl::register_builtin_fl(regs); }
};

std::vector<std::vector<float>> random_deltas(int n, int dim, std::uint64_t seed) {
  core::Rng r(seed, "deltas");
  std::vector<std::vector<float>> d(n, std::vector<float>(dim));
  for (auto& v : d)
    for (auto& x : v) x = static_cast<float>(r.normal());
  return d;
}
}  // namespace

TEST_CASE("every aggregator is permutation invariant to the bit") {
  Fixture f;
  auto doc = scenario::Document::parse("", "t.toml");
  const int n = 13, dim = 5000;  // dim > one parallel block
  auto deltas = random_deltas(n, dim, 1);
  std::vector<fl::ClientUpdate> ups;
  for (int i = 0; i < n; ++i)
    ups.push_back({static_cast<std::size_t>(100 - 3 * i), 1.0 + i % 4, deltas[i]});
  for (const auto& e : f.regs.aggregators.entries()) {
    auto agg = e.factory(doc->root().table(e.doc.name));
    std::vector<float> a(dim), b(dim);
    // FLTrust needs the server's root update; the other rules ignore it.
    const auto root = deltas[0];
    fl::AggregationContext ctx;
    ctx.root_update = [&root](std::span<float> g) {
      std::copy(root.begin(), root.end(), g.begin());
    };
    agg->aggregate(ups, a, ctx, nullptr);
    auto perm = ups;
    core::Rng r(2, "perm");
    r.shuffle(std::span<fl::ClientUpdate>(perm));
    std::reverse(perm.begin(), perm.end());
    agg->aggregate(perm, b, ctx, nullptr);
    CHECK_MESSAGE(a == b, e.doc.name);
  }
}

TEST_CASE("fedavg is the sample-weighted mean") {
  std::vector<float> d1{1, 2, 3}, d2{3, 6, 9};
  std::vector<fl::ClientUpdate> ups{{0, 1.0, d1}, {1, 3.0, d2}};
  std::vector<float> out(3);
  fl::weighted_mean(ups, out);
  CHECK(out[0] == doctest::Approx(2.5));
  CHECK(out[1] == doctest::Approx(5.0));
  CHECK(out[2] == doctest::Approx(7.5));
}

TEST_CASE("weighted mean gives the same bits for 1 and 2 threads") {
  auto deltas = random_deltas(20, 70000, 3);
  std::vector<fl::ClientUpdate> ups;
  for (int i = 0; i < 20; ++i) ups.push_back({static_cast<std::size_t>(i), 10.0 + i, deltas[i]});
  std::vector<float> a(70000), b(70000);
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 1);
    fl::weighted_mean(ups, a);
  }
  {
    tbb::global_control c(tbb::global_control::max_allowed_parallelism, 2);
    fl::weighted_mean(ups, b);
  }
  CHECK(a == b);
}
