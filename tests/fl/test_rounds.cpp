// Round machinery: closed-form timing, deadlines and stragglers, availability, determinism across
// thread counts (sync and FedBuff async), and a short Fashion-MNIST run that must learn.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>

#include <tbb/global_control.h>

#include "sim/core/record.hpp"
#include "sim/fl/simulation.hpp"

using namespace ledgerfl;

namespace {
struct Run {
  core::MemorySink sink;
  std::size_t params = 0;
  double flops_per_sample = 0;
};

Run run_text(const std::string& toml, int threads = 0) {
  fl::FlRegistries regs;
  fl::register_builtin_fl(regs);
  auto doc = scenario::Document::parse(toml, "t.toml");
  auto sim = fl::FlSimulation::build(doc->root(), 7, regs);
  doc->check_unused();
  Run r;
  r.params = sim->num_params();
  r.flops_per_sample = sim->model().train_flops_per_sample();
  std::optional<tbb::global_control> gc;
  if (threads > 0) gc.emplace(tbb::global_control::max_allowed_parallelism, threads);
  sim->run(r.sink);
  return r;
}

const char* kSynthetic = R"(
[simulation]
rounds = 6
[clients]
count = 40
[data]
type = "synthetic"
alpha = 1.0
beta = 1.0
[model]
type = "softmax"
[training]
lr = 0.05
batch = 10
epochs = 2
)";

// Bitwise equality of every result metric (wall time lives apart, in RoundSummary::wall_s).
bool same_bits(const core::MemorySink& a, const core::MemorySink& b) {
  if (a.rounds.size() != b.rounds.size()) return false;
  for (std::size_t i = 0; i < a.rounds.size(); ++i) {
    const auto& x = a.rounds[i].metrics;
    const auto& y = b.rounds[i].metrics;
    if (x.size() != y.size()) return false;
    for (std::size_t k = 0; k < x.size(); ++k) {
      if (x[k].first != y[k].first || x[k].second.index() != y[k].second.index()) return false;
      // Compare the value bits (not the variant object: its padding bytes are unspecified).
      const auto bits = [](const core::MetricValue& v) {
        std::uint64_t b = 0;
        std::visit([&](auto val) { std::memcpy(&b, &val, sizeof(b)); }, v);
        return b;
      };
      if (bits(x[k].second) != bits(y[k].second)) return false;
    }
  }
  return true;
}
}  // namespace

TEST_CASE("round duration matches the closed form for fixed devices") {
  // steps mode: every client processes steps * batch samples, so each takes exactly
  // 2 (P * 32 / bandwidth + latency) + steps * batch * flops_per_sample / flops.
  const std::string toml = std::string(kSynthetic) + R"(
steps = 5
[rounds]
per_round = 8
deadline = "1h"
[devices]
flops = 2e8
upload = "8Mbps"
download = "16Mbps"
latency = "40ms"
)";
  Run r = run_text(toml);
  REQUIRE(r.sink.rounds.size() == 6);
  const double bits = static_cast<double>(r.params) * 32.0;
  const double expected =
      (bits / 16e6 + 0.04) + 5 * 10 * r.flops_per_sample / 2e8 + (bits / 8e6 + 0.04);
  for (const auto& row : r.sink.rounds) {
    CHECK(row.get_double("round_duration_s") == doctest::Approx(expected).epsilon(1e-8));
    CHECK(row.get_double("included") == 8);
    CHECK(row.get_double("dropped_stragglers") == 0);
  }
  // Rounds follow each other without gaps: sim time of round r = r * duration.
  CHECK(r.sink.rounds.back().get_double("sim_time_s") ==
        doctest::Approx(6 * expected).epsilon(1e-8));
}

TEST_CASE("over-selection keeps the first K and counts the rest as stragglers") {
  const std::string toml = std::string(kSynthetic) + R"(
[rounds]
per_round = 5
over_selection = 1.0
[devices]
flops = {type = "lognormal", median = 1e8, sigma = 1.0}
)";
  Run r = run_text(toml);
  for (const auto& row : r.sink.rounds) {
    CHECK(row.get_double("participants") == 10);
    CHECK(row.get_double("included") == 5);
    CHECK(row.get_double("dropped_stragglers") == 5);
  }
}

TEST_CASE("a deadline drops exactly the clients that are too slow") {
  // Heterogeneous devices; a tiny deadline drops everyone, a huge one nobody; in between the
  // accounting identity holds: participants = included + stragglers + offline + crashed.
  const std::string base = std::string(kSynthetic) + R"(
[devices]
flops = {type = "lognormal", median = 2e6, sigma = 1.5}
crash_probability = 0.1
availability = {type = "bernoulli", p_online = 0.7}
)";
  Run tiny = run_text(base + "[rounds]\nper_round = 10\ndeadline = \"1ms\"\n");
  for (const auto& row : tiny.sink.rounds) {
    CHECK(row.get_double("included") == 0);
    CHECK(row.get_double("round_duration_s") == doctest::Approx(0.001));
  }
  Run mid = run_text(base + "[rounds]\nper_round = 10\ndeadline = \"2s\"\n");
  double stragglers = 0, included = 0, offline = 0, crashed = 0;
  for (const auto& row : mid.sink.rounds) {
    CHECK(row.get_double("participants") ==
          row.get_double("included") + row.get_double("dropped_stragglers") +
              row.get_double("dropped_offline") + row.get_double("dropped_crashed"));
    CHECK(row.get_double("round_duration_s") <= 2.0 + 1e-9);
    stragglers += row.get_double("dropped_stragglers");
    included += row.get_double("included");
    offline += row.get_double("dropped_offline");
    crashed += row.get_double("dropped_crashed");
  }
  CHECK(stragglers > 0);
  CHECK(included > 0);
  CHECK(offline > 0.15 * 60);  // 30% of 60 selections expected offline
  CHECK(offline < 0.45 * 60);
  CHECK(crashed >= 1);
}

TEST_CASE("partial work: slow clients do the steps that fit and report by the deadline") {
  // FedProx's systems heterogeneity (Li et al. 2020): a client too slow for its full E epochs
  // does as many minibatch steps as fit before the deadline instead of being dropped.
  const std::string base = std::string(kSynthetic) + R"(
[devices]
flops = {type = "lognormal", median = 2e6, sigma = 1.5}
[rounds]
per_round = 10
deadline = "1s"
)";
  Run drop = run_text(base);
  Run partial = run_text(base + "stragglers = \"partial\"\n");
  double drop_included = 0, partial_included = 0, partial_updates = 0;
  for (std::size_t i = 0; i < drop.sink.rounds.size(); ++i) {
    const auto& d = drop.sink.rounds[i];
    const auto& p = partial.sink.rounds[i];
    drop_included += d.get_double("included");
    partial_included += p.get_double("included");
    partial_updates += p.get_double("partial_updates");
    CHECK(d.get_double("partial_updates") == 0);
    CHECK(p.get_double("round_duration_s") <= 1.0 + 1e-9);
    // Every dropped straggler of the drop policy is included (partially) under partial work,
    // unless it could not fit a single step.
    CHECK(p.get_double("included") + p.get_double("dropped_stragglers") ==
          d.get_double("included") + d.get_double("dropped_stragglers"));
    CHECK(p.get_double("included") >= d.get_double("included"));
  }
  CHECK(partial_updates > 0);
  CHECK(partial_included == drop_included + partial_updates);
}

TEST_CASE("sync runs are bit-identical for 1 and 2 threads") {
  const std::string toml = std::string(kSynthetic) + R"(
[rounds]
per_round = 12
[devices]
flops = {type = "lognormal", median = 1e8, sigma = 1.0}
)";
  Run a = run_text(toml, 1), b = run_text(toml, 2);
  CHECK(same_bits(a.sink, b.sink));
  // And the model learns something (loss decreases).
  CHECK(a.sink.rounds.back().get_double("test_loss") <
        a.sink.rounds.front().get_double("test_loss"));
}

TEST_CASE("async FedBuff runs are bit-identical for 1 and 2 threads and record staleness") {
  const std::string toml = std::string(kSynthetic) + R"(
[rounds]
mode = "async"
per_round = 5
concurrency = 15
[server]
type = "sgd"
lr = 1.0
[devices]
flops = {type = "lognormal", median = 1e8, sigma = 1.0}
)";
  Run a = run_text(toml, 1), b = run_text(toml, 2);
  REQUIRE(a.sink.rounds.size() == 6);
  CHECK(same_bits(a.sink, b.sink));
  double stale = 0;
  for (const auto& row : a.sink.rounds) {
    CHECK(row.get_double("included") == 5);
    stale += row.get_double("mean_staleness");
  }
  CHECK(stale > 0);  // with 15 in flight and K = 5 some updates must be stale
  CHECK(a.sink.rounds.front().get_double("mean_staleness") == 0);  // nothing older than v0
}

TEST_CASE("a short Fashion-MNIST run learns (MLP, Dirichlet 0.5)") {
  Run r = run_text(R"(
[simulation]
rounds = 8
[clients]
count = 50
[data]
type = "fashion_mnist"
train_subset = 10000
test_subset = 2000
partition = {type = "dirichlet", alpha = 0.5}
[model]
type = "mlp"
hidden = [64]
[training]
lr = 0.05
batch = 32
epochs = 2
[rounds]
per_round = 10
)");
  const double acc = r.sink.rounds.back().get_double("test_accuracy");
  MESSAGE("accuracy after 8 rounds: " << acc);
  CHECK(acc > 0.65);  // chance is 0.10
}
