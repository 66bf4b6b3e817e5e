// Hold-model benchmark of the event engine against a bare std::priority_queue loop.
// Classic hold model (Vaucher & Duval 1975): N entities each hold one pending event; processing
// an event schedules the same entity again after an exponential delay. Reports events/s.
#include <benchmark/benchmark.h>

#include <queue>
#include <vector>

#include "sim/core/engine.hpp"
#include "sim/core/rng.hpp"

using namespace ledgerfl::core;

namespace {
constexpr int kEntities = 1000;

// Precomputed delays so the generator's cost is the same in both loops.
const std::vector<std::int64_t>& delays() {
  static const std::vector<std::int64_t> d = [] {
    std::vector<std::int64_t> v(1 << 16);
    Rng r(1, "hold");
    for (auto& x : v) x = 1 + static_cast<std::int64_t>(r.exponential(1.0) * 1e6);
    return v;
  }();
  return d;
}

struct Hold {
  Engine* e;
  std::size_t i = 0;
  std::int64_t remaining;
  void fire(int entity) {
    if (--remaining <= 0) return;
    const auto& d = delays();
    e->schedule_in(SimTime::ns(d[i++ & 0xffff]), [this, entity] { fire(entity); });
  }
};

void BM_EngineHold(benchmark::State& state) {
  const std::int64_t events = state.range(0);
  for (auto _ : state) {
    Engine e;
    Hold h{&e, 0, events};
    for (int k = 0; k < kEntities; ++k) e.schedule_at(SimTime::ns(k), [&h, k] { h.fire(k); });
    e.run();
    benchmark::DoNotOptimize(e.processed());
    state.counters["events"] = static_cast<double>(e.processed());
  }
  state.SetItemsProcessed(state.iterations() * events);
}

// Baseline: the same hold model on a bare std::priority_queue of (time, seq, entity).
void BM_PriorityQueueHold(benchmark::State& state) {
  const std::int64_t events = state.range(0);
  struct Item {
    std::int64_t t;
    std::uint64_t seq;
    int entity;
    bool operator>(const Item& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  for (auto _ : state) {
    std::priority_queue<Item, std::vector<Item>, std::greater<>> q;
    std::uint64_t seq = 0;
    std::size_t i = 0;
    for (int k = 0; k < kEntities; ++k) q.push({k, seq++, k});
    std::int64_t remaining = events, processed = 0;
    const auto& d = delays();
    while (!q.empty()) {
      Item it = q.top();
      q.pop();
      ++processed;
      if (--remaining > 0) q.push({it.t + d[i++ & 0xffff], seq++, it.entity});
    }
    benchmark::DoNotOptimize(processed);
  }
  state.SetItemsProcessed(state.iterations() * events);
}
}  // namespace

BENCHMARK(BM_EngineHold)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_PriorityQueueHold)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_MAIN();
