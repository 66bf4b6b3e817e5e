// Google Benchmark of every registered aggregation rule on config A's MLP size (P = 199,210
// floats per update) at n = 100 and 1,000 updates drawn from a keyed Gaussian; f = n / 10.
// Compare each rule with fedavg on the same updates (bench/aggregators.cpp's BM_Aggregate/fedavg
// rows); `--benchmark_format=json` feeds a ratio table.
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/parallel.hpp"
#include "sim/core/rng.hpp"
#include "sim/fl/registries.hpp"

using namespace ledgerfl;

namespace {

constexpr std::size_t kParams = 199210;  // MLP 784-200-200-10 (config A)

struct Updates {
  std::vector<float> data;  // n x P, row k = update k
  std::vector<fl::ClientUpdate> ups;
};

const Updates& updates(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<Updates>> cache;
  auto& u = cache[n];
  if (!u) {
    u = std::make_unique<Updates>();
    u->data.resize(n * kParams);
    core::parallel_for(n, [&](std::size_t k) {
      core::Rng r(1, "bench_aggregators", k);
      for (std::size_t i = 0; i < kParams; ++i)
        u->data[k * kParams + i] = static_cast<float>(0.01 * r.normal());
    });
    for (std::size_t k = 0; k < n; ++k)
      u->ups.push_back(
          {k, 1.0 + double(k % 5), std::span<const float>(u->data.data() + k * kParams, kParams)});
  }
  return *u;
}

fl::FlRegistries& regs() {
  static fl::FlRegistries r = [] {
    fl::FlRegistries x;
    fl::register_builtin_fl(x);
    return x;
  }();
  return r;
}

void BM_Aggregate(benchmark::State& state, std::string name) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const Updates& u = updates(n);
  auto doc = scenario::Document::parse("", "bench.toml");
  auto agg = regs().aggregators.find(name)->factory(doc->root().table("a"));
  fl::AggregationContext ctx;
  ctx.round = 1;
  ctx.seed = 7;
  ctx.byzantine = n / 10;
  const float* root = u.data.data();
  ctx.root_update = [root](std::span<float> g) { std::copy(root, root + g.size(), g.begin()); };
  std::vector<float> out(kParams);
  fl::AggregationReport rep;
  for (auto _ : state) {
    agg->aggregate(u.ups, out, ctx, &rep);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["n"] = double(n);
  state.counters["f"] = double(ctx.byzantine);
}

const int registered = [] {
  for (const auto& e : regs().aggregators.entries())
    benchmark::RegisterBenchmark(("BM_Aggregate/" + e.doc.name).c_str(), BM_Aggregate, e.doc.name)
        ->Arg(100)
        ->Arg(1000)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MinTime(1.0);
  return 0;
}();

}  // namespace

// --threads N (ours, before Google Benchmark's flags): caps the TBB pool, e.g. 1 for the work of
// a rule on one core when the machine is shared.
int main(int argc, char** argv) {
  int threads = 0;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--threads=", 0) == 0)
      threads = std::stoi(a.substr(10));
    else
      rest.push_back(argv[i]);
  }
  std::unique_ptr<tbb::global_control> cap;
  if (threads > 0)
    cap = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                static_cast<std::size_t>(threads));
  int rc = static_cast<int>(rest.size());
  benchmark::Initialize(&rc, rest.data());
  benchmark::AddCustomContext("tbb_threads", threads > 0 ? std::to_string(threads) : "default");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
