// BFT soak: Tendermint safety and liveness over many random worlds (`make soak`, CTest short).
// Per seed: n in [4, 13] validators, up to f < n/3 equivocating (Byzantine) validators, random
// lognormal delays and jitter, one or two partitions with a random side that heal. Checks:
// no conflicting commits (finality conflicts in the block tree, and every honest validator's
// decision at each height equal to every other's), and liveness after every heal (the head
// grows within kHealWindow of the heal, and every honest validator ends past the last heal's
// height). Usage: bft_soak FIRST_SEED COUNT [--over-third]. Exit 0 when every seed holds, 1
// otherwise.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "sim/chain/bft.hpp"
#include "sim/chain/simulation.hpp"
#include "sim/core/parallel.hpp"
#include "sim/core/record.hpp"

using namespace ledgerfl;
using namespace ledgerfl::chain;
using core::SimTime;

namespace {

constexpr SimTime kDuration = SimTime::s(200);
constexpr std::int64_t kIntervalS = 2;     // metrics rows every 2 s simulated
constexpr std::int64_t kHealWindowS = 40;  // a healed network commits within this (timeouts grow)

struct World {
  std::uint32_t n = 0;
  std::vector<net::NodeId> byzantine;
  double latency_ms = 0, sigma = 0;
  std::int64_t jitter_ms = 0;
  std::vector<net::Partition> partitions;
};

World draw_world(std::uint64_t seed, bool over_third) {
  std::mt19937_64 g(seed * 0x9E3779B97F4A7C15ULL + 12);
  auto uni = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(g);
  };
  World w;
  w.n = static_cast<std::uint32_t>(uni(4, 13));
  // f < n/3 with equal voting power; --over-third draws f = ceil(n/3) (safety is not promised:
  // the soak must then report conflicting commits, which shows it can fail).
  const std::int64_t f = over_third ? (w.n + 2) / 3 : uni(0, (w.n - 1) / 3);
  std::vector<net::NodeId> ids(w.n);
  for (net::NodeId v = 0; v < w.n; ++v) ids[v] = v;
  std::shuffle(ids.begin(), ids.end(), g);
  w.byzantine.assign(ids.begin(), ids.begin() + f);
  std::sort(w.byzantine.begin(), w.byzantine.end());
  w.latency_ms = static_cast<double>(uni(5, 200));
  w.sigma = 0.2 + 0.1 * static_cast<double>(uni(0, 10));
  w.jitter_ms = uni(0, 100);
  // One or two partitions, each 10-40 s, the second after the first has healed for >= 20 s.
  std::int64_t t = uni(10, 30);
  const std::int64_t count = uni(1, 2);
  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t len = uni(10, 40);
    net::Partition p{SimTime::s(t), SimTime::s(t + len), {}};
    std::shuffle(ids.begin(), ids.end(), g);
    const std::int64_t side = uni(1, w.n - 1);  // a proper, non-empty side
    p.side.assign(ids.begin(), ids.begin() + side);
    std::sort(p.side.begin(), p.side.end());
    w.partitions.push_back(p);
    t += len + uni(20, 40);
  }
  return w;
}

struct Outcome {
  std::uint64_t conflicts = 0;  // finality conflicts + honest decisions that differ
  std::int64_t liveness_failures = 0;
  std::int64_t heals = 0;
  std::int64_t final_height = 0;
  std::string detail;
};

Outcome run_seed(std::uint64_t seed, bool over_third) {
  const World w = draw_world(seed, over_third);
  net::NetworkSpec s;
  s.options.validators = w.n;
  s.options.regions = net::single_region(w.latency_ms, 1e8);
  s.options.latency.kind = net::LatencyKind::kLognormal;
  s.options.latency.sigma = w.sigma;
  s.options.latency.jitter = SimTime::ms(w.jitter_ms);
  s.options.partitions = w.partitions;
  s.overlay = net::complete_graph(w.n);
  BftOptions o;
  o.byzantine = w.byzantine;
  ChainSimOptions so;
  so.duration = kDuration;
  so.metrics_interval = SimTime::s(kIntervalS);
  PoissonWorkloadOptions wo;
  wo.rate = 20;
  BftConsensus* bft = nullptr;
  ChainSimulation sim(
      so, std::move(s), std::make_unique<PoissonWorkload>(wo, seed),
      [&](ChainContext& ctx) {
        auto e = make_bft(o, ctx);
        bft = e.get();
        return std::unique_ptr<Consensus>(std::move(e));
      },
      seed);
  core::MemorySink sink;
  sim.run(sink);

  Outcome r;
  r.conflicts = bft->safety_violations();
  std::vector<std::uint32_t> ref;
  std::int64_t min_honest = -1;
  for (net::NodeId v = 0; v < w.n; ++v) {
    if (bft->is_byzantine(v)) continue;
    const auto& d = bft->decisions(v);
    const auto h = static_cast<std::int64_t>(d.size()) - 1;
    min_honest = min_honest < 0 ? h : std::min(min_honest, h);
    for (std::size_t k = 0; k < d.size(); ++k) {
      if (ref.size() <= k)
        ref.push_back(d[k]);
      else if (ref[k] != d[k])
        ++r.conflicts;
    }
  }
  // head_height row k covers ((k - 1) * interval, k * interval] s.
  std::vector<std::int64_t> head;
  for (double x : sink.column("head_height")) head.push_back(static_cast<std::int64_t>(x));
  r.final_height = head.empty() ? 0 : head.back();
  auto at = [&](std::int64_t t_s) {
    const auto k = std::clamp<std::int64_t>(t_s / kIntervalS - 1, 0,
                                            static_cast<std::int64_t>(head.size()) - 1);
    return head[k];
  };
  std::int64_t last_heal_height = 0;
  for (const auto& p : w.partitions) {
    ++r.heals;
    const std::int64_t heal_s = p.end.count_ns() / 1'000'000'000;
    const std::int64_t before = at(heal_s);
    const std::int64_t after = at(heal_s + kHealWindowS);
    last_heal_height = before;
    if (after <= before) {
      ++r.liveness_failures;
      r.detail += fmt::format(" no commit within {} s of the heal at {} s (height {});",
                              kHealWindowS, heal_s, before);
    }
  }
  if (min_honest <= last_heal_height) {
    ++r.liveness_failures;
    r.detail += fmt::format(" an honest validator ends at height {} <= {} (last heal);", min_honest,
                            last_heal_height);
  }
  if (r.conflicts)
    r.detail += fmt::format(" {} conflicting commits (n = {}, byzantine {});", r.conflicts, w.n,
                            w.byzantine.size());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const bool over_third = argc == 4 && std::string(argv[3]) == "--over-third";
  if (argc != 3 && !over_third) {
    std::fprintf(stderr, "usage: bft_soak FIRST_SEED COUNT [--over-third]\n");
    return 2;
  }
  const std::uint64_t first = std::strtoull(argv[1], nullptr, 10);
  const std::int64_t count = std::strtoll(argv[2], nullptr, 10);
  if (count <= 0) {
    std::fprintf(stderr, "bft_soak: COUNT must be > 0\n");
    return 2;
  }
  std::vector<Outcome> out(static_cast<std::size_t>(count));
  std::vector<World> worlds(out.size());
  core::parallel_for(out.size(), [&](std::size_t i) {
    worlds[i] = draw_world(first + i, over_third);
    out[i] = run_seed(first + i, over_third);
  });
  // Reported in seed order, whatever the thread schedule.
  std::uint64_t conflicts = 0;
  std::int64_t liveness = 0, heals = 0, byz_runs = 0, byz_nodes = 0, failed = 0;
  std::int64_t min_height = -1, sum_height = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    conflicts += out[i].conflicts;
    liveness += out[i].liveness_failures;
    heals += out[i].heals;
    sum_height += out[i].final_height;
    min_height = min_height < 0 ? out[i].final_height : std::min(min_height, out[i].final_height);
    byz_runs += worlds[i].byzantine.empty() ? 0 : 1;
    byz_nodes += static_cast<std::int64_t>(worlds[i].byzantine.size());
    if (out[i].conflicts || out[i].liveness_failures) {
      ++failed;
      std::printf("seed %llu: FAIL%s\n", static_cast<unsigned long long>(first + i),
                  out[i].detail.c_str());
    }
  }
  std::printf(
      "bft_soak: %lld seeds (%llu..%llu), %lld with equivocators (%lld Byzantine validators in "
      "all), %lld partitions healed, final height min %lld mean %.1f; conflicting commits: %llu; "
      "liveness failures after a "
      "heal: %lld; failing seeds: %lld\n",
      static_cast<long long>(count), static_cast<unsigned long long>(first),
      static_cast<unsigned long long>(first + count - 1), static_cast<long long>(byz_runs),
      static_cast<long long>(byz_nodes), static_cast<long long>(heals),
      static_cast<long long>(min_height), static_cast<double>(sum_height) / count,
      static_cast<unsigned long long>(conflicts), static_cast<long long>(liveness),
      static_cast<long long>(failed));
  return failed == 0 ? 0 : 1;
}
