// Runs chain-only scenarios and reports their figures and speed:
//   chain_bench SCENARIO.toml [--set key=value]... [--seed N]
// Tables are dropped (a counting sink), so the timing is the simulation's own.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "sim/chain/registry.hpp"
#include "sim/chain/simulation.hpp"
#include "sim/net/registry.hpp"
#include "sim/scenario/params.hpp"

using namespace ledgerfl;

namespace {

class CountingSink final : public core::RunSink {
 public:
  struct Counter final : core::TableSink {
    std::size_t rows = 0;
    void append(std::span<const core::Cell>) override { ++rows; }
  };
  void on_round(const core::RoundSummary& r) override { last = r; }
  core::TableSink& table(const std::string&, std::span<const core::ColumnSpec>) override {
    tables.push_back(std::make_unique<Counter>());
    return *tables.back();
  }
  void set_meta(const std::string&, const std::string&) override {}
  void set_meta(const std::string&, std::int64_t) override {}
  core::RoundSummary last;
  std::vector<std::unique_ptr<Counter>> tables;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: chain_bench SCENARIO.toml [--set key=value]... [--seed N]\n";
    return 2;
  }
  try {
    auto doc = scenario::Document::load(argv[1]);
    std::uint64_t seed = 1;
    for (int i = 2; i < argc; ++i) {
      if (!std::strcmp(argv[i], "--set") && i + 1 < argc) {
        doc->apply_override(argv[++i]);
      } else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) {
        seed = std::stoull(argv[++i]);
      } else {
        std::cerr << "unknown argument " << argv[i] << "\n";
        return 2;
      }
    }
    net::NetRegistries nr;
    net::register_builtin_net(nr);
    chain::ChainRegistries cr;
    chain::register_builtin_chain(cr);
    const auto sim_t = doc->root().table("simulation");
    sim_t.mark_used("name");
    sim_t.mark_used("seed");
    const auto t0 = std::chrono::steady_clock::now();
    auto sim = chain::ChainSimulation::build(doc->root(), seed, nr, cr);
    doc->check_unused();
    const double build_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CountingSink sink;
    sim->run(sink);
    const auto& s = sim->summary();
    std::printf("scenario            %s (seed %llu)\n", argv[1],
                static_cast<unsigned long long>(seed));
    std::printf("consensus           %s, %lld nodes (%lld validators), %.0f s simulated\n",
                s.consensus.c_str(), static_cast<long long>(s.nodes),
                static_cast<long long>(s.validators), s.sim_time_s);
    std::printf("blocks              %lld produced, %lld main, %lld stale (rate %.4f)\n",
                static_cast<long long>(s.blocks), static_cast<long long>(s.main_blocks),
                static_cast<long long>(s.stale_blocks), s.stale_rate);
    std::printf("block interval      %.2f s (main chain mean)\n", s.mean_block_interval_s);
    std::printf("propagation median  50%% %.3f s, 90%% %.3f s, 100%% %.3f s\n", s.prop50_s,
                s.prop90_s, s.prop100_s);
    std::printf("finality latency    mean %.2f s, median %.2f s\n", s.finality_latency_mean_s,
                s.finality_latency_median_s);
    std::printf("transactions        %lld generated, %lld on main chain, %.2f tx/s\n",
                static_cast<long long>(s.txs_generated), static_cast<long long>(s.txs_on_main),
                s.tps);
    std::printf("reorgs              %lld, safety violations %lld\n",
                static_cast<long long>(s.reorgs), static_cast<long long>(s.safety_violations));
    std::printf("traffic             %lld consensus messages, %.1f MB\n",
                static_cast<long long>(s.consensus_messages), s.network_bytes / 1e6);
    std::printf("speed               %lld events in %.2f s wall (+%.2f s build): %.2f M events/s\n",
                static_cast<long long>(s.events), s.wall_s, build_s, s.events_per_s / 1e6);
    return 0;
  } catch (const scenario::InputError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
