// Round machinery: closed-form timing, deadlines and stragglers, FedProx's random stragglers
// (Li et al. 2020 sec. 5.2), the global objective on the clients' training data, availability,
// determinism across thread counts (sync and FedBuff async), and a short Fashion-MNIST run that
// must learn.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>

#include <tbb/global_control.h>

#include "models/nn/mlp.hpp"
#include "models/nn/softmax_regression.hpp"
#include "sim/core/record.hpp"
#include "sim/fl/server.hpp"

using namespace ledgerfl;

namespace {
struct Run {
  core::MemorySink sink;
  std::size_t params = 0;
  double flops_per_sample = 0;
  std::vector<float> global;  // the final global model
};

Run run_text(const std::string& toml, int threads = 0) {
  fl::FlRegistries regs;
  fl::register_builtin_fl(regs);
  auto doc = scenario::Document::parse(toml, "t.toml");
  auto sim = fl::build_server(doc->root(), 7, regs);
  doc->check_unused();
  Run r;
  r.params = sim->learner().num_params();
  r.flops_per_sample = sim->learner().model().train_flops_per_sample();
  std::optional<tbb::global_control> gc;
  if (threads > 0) gc.emplace(tbb::global_control::max_allowed_parallelism, threads);
  sim->run(r.sink);
  r.global.assign(sim->learner().global().begin(), sim->learner().global().end());
  return r;
}

// The scenario's federated data, built on its own (same seed as run_text) for direct checks.
std::unique_ptr<data::FederatedData> data_of(const std::string& toml, std::size_t clients) {
  fl::FlRegistries regs;
  fl::register_builtin_fl(regs);
  auto doc = scenario::Document::parse(toml, "t.toml");
  const scenario::ParamView d = doc->root().table("data");
  return regs.datasets.get(d).factory(d, clients, 7, regs);
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
  // Heterogeneous devices; a huge deadline drops nobody; in between the
  // accounting identity holds: participants = included + stragglers + offline + crashed.
  const std::string base = std::string(kSynthetic) + R"(
[devices]
flops = {type = "lognormal", median = 2e6, sigma = 1.5}
crash_probability = 0.1
availability = {type = "bernoulli", p_online = 0.7}
)";
  // A deadline below the fastest possible round (here the 2 x 50 ms default latency) is an
  // error, not a run in which nothing can happen (issue 12).
  CHECK_THROWS_WITH_AS(run_text(base + "[rounds]\nper_round = 10\ndeadline = \"1ms\"\n"),
                       doctest::Contains("rounds.deadline: = 1ms is shorter than the fastest "
                                         "possible client round"),
                       scenario::InputError);
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
  const std::string toml = R"(
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
)";
  Run r = run_text(toml);
  const double acc = r.sink.rounds.back().get_double("test_accuracy");
  MESSAGE("accuracy after 8 rounds: " << acc);
  CHECK(acc > 0.65);  // chance is 0.10
  // The union of the clients' data is the 10000-sample train_subset = train_eval_samples, so
  // global_train_* is exact there; a keyed row sample of 2000 of it estimates the same value.
  const double full = r.sink.rounds.back().get_double("global_train_loss");
  Run sampled = run_text(toml + "train_eval_samples = 2000\n");
  const double part = sampled.sink.rounds.back().get_double("global_train_loss");
  MESSAGE("global train loss: union " << full << ", 2000-row sample " << part);
  CHECK(part != full);
  CHECK(part == doctest::Approx(full).epsilon(0.1));
  CHECK(r.sink.rounds.back().get_double("global_train_accuracy") > 0.65);
}

// ------------------------------------------------------------ FedProx stragglers (sec. 5.2)
TEST_CASE("fedprox stragglers: the fraction is f and the epochs are uniform on 1..E") {
  // Li et al. 2020 sec. 5.2: each round a random f of the selected devices straggle, each
  // doing a number of epochs drawn uniformly from 1..E. f n = 3.5 of 10: every round has 3 or
  // 4 stragglers (stochastic rounding) and each device straggles with probability 0.35.
  constexpr int kE = 20, kRounds = 4000;
  const std::vector<std::size_t> training = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29};
  std::vector<double> per_epoch(kE + 1, 0.0), per_device(training.size(), 0.0);
  double total = 0, fours = 0;
  for (int r = 1; r <= kRounds; ++r) {
    const fl::StragglerDraw d = fl::draw_stragglers(11, r, training, 0.35, kE);
    REQUIRE(d.positions.size() == d.epochs.size());
    CHECK((d.positions.size() == 3 || d.positions.size() == 4));
    CHECK(std::is_sorted(d.positions.begin(), d.positions.end()));
    CHECK(std::adjacent_find(d.positions.begin(), d.positions.end()) == d.positions.end());
    total += static_cast<double>(d.positions.size());
    fours += d.positions.size() == 4;
    for (std::size_t i = 0; i < d.positions.size(); ++i) {
      REQUIRE(d.epochs[i] >= 1);
      REQUIRE(d.epochs[i] <= kE);
      per_epoch[d.epochs[i]] += 1;
      per_device[d.positions[i]] += 1;
    }
  }
  // The "extra" straggler is Bernoulli(0.5): its count is Binomial(4000, 0.5), sd 31.6.
  CHECK(std::abs(fours - 2000) < 4.5 * 31.6);
  CHECK(total / (10.0 * kRounds) == doctest::Approx(0.35).epsilon(0.02));
  // Each device straggles in a fraction 0.35 of the rounds (binomial, 4.5 sd).
  const double sd = std::sqrt(kRounds * 0.35 * 0.65);
  for (double k : per_device) CHECK(std::abs(k - 0.35 * kRounds) < 4.5 * sd);
  // Epochs: chi-square against uniform on 1..20, 19 degrees of freedom; 0.999 quantile 43.8.
  double chi2 = 0;
  const double expect = total / kE;
  for (int e = 1; e <= kE; ++e) chi2 += (per_epoch[e] - expect) * (per_epoch[e] - expect) / expect;
  MESSAGE("epochs chi-square (19 dof): " << chi2);
  CHECK(chi2 < 43.8);
  // A whole f n is exact every round; f = 0 and f = 1 are the extremes.
  for (int r = 1; r <= 50; ++r) {
    CHECK(fl::draw_stragglers(11, r, training, 0.9, kE).positions.size() == 9);
    CHECK(fl::draw_stragglers(11, r, training, 0.5, kE).positions.size() == 5);
    CHECK(fl::draw_stragglers(11, r, training, 0.0, kE).positions.empty());
    CHECK(fl::draw_stragglers(11, r, training, 1.0, kE).positions.size() == 10);
  }
  // The epochs of a device depend only on (seed, device, round), not on who else straggles.
  const fl::StragglerDraw all = fl::draw_stragglers(11, 5, training, 1.0, kE);
  const fl::StragglerDraw half = fl::draw_stragglers(11, 5, training, 0.5, kE);
  for (std::size_t i = 0; i < half.positions.size(); ++i)
    CHECK(half.epochs[i] == all.epochs[half.positions[i]]);
}

TEST_CASE("fedprox stragglers in a run: keep does e epochs, drop discards, time follows") {
  // Every client is selected each round, so the training clients are 0..9 and the run's
  // examples and durations can be recomputed from the straggler draw.
  const auto scenario = [](const std::string& policy, const std::string& fraction) {
    std::string t = std::string(kSynthetic) + R"(
[rounds]
per_round = 10
deadline = "1h"
eval_every = 100
train_eval_samples = 0
stragglers = "fedprox"
[devices]
flops = 1e7
upload = "10Mbps"
download = "10Mbps"
latency = "50ms"
)";
    t.replace(t.find("count = 40"), 10, "count = 10");
    t.replace(
        t.find("[devices]"), 9,
        "straggler_policy = \"" + policy + "\"\nstraggler_fraction = " + fraction + "\n[devices]");
    return t;
  };
  const std::string toml = scenario("keep", "0.5");
  Run keep = run_text(toml);
  Run drop = run_text(scenario("drop", "0.5"));
  auto data = data_of(toml, 10);
  std::vector<std::size_t> training(10);
  std::iota(training.begin(), training.end(), std::size_t{0});
  REQUIRE(keep.sink.rounds.size() == 6);
  const double bits = static_cast<double>(keep.params) * 32.0;
  const double comm = 2 * (bits / 10e6 + 0.05);  // 10 Mbit/s each way, 50 ms
  double partial = 0;
  for (std::size_t i = 0; i < keep.sink.rounds.size(); ++i) {
    const auto& k = keep.sink.rounds[i];
    const auto& d = drop.sink.rounds[i];
    const fl::StragglerDraw s =
        fl::draw_stragglers(7, static_cast<std::int64_t>(i + 1), training, 0.5, 2);
    CHECK(k.get_double("stragglers") == 5);
    CHECK(d.get_double("stragglers") == 5);
    std::vector<int> epochs(10, 2);  // E = 2
    for (std::size_t j = 0; j < s.positions.size(); ++j) epochs[s.positions[j]] = s.epochs[j];
    double examples = 0, longest = 0, examples_drop = 0, longest_drop = 0;
    std::int64_t partial_round = 0;
    for (std::size_t c = 0; c < 10; ++c) {
      const double n = static_cast<double>(data->client_size(c));
      examples += n * epochs[c];
      longest = std::max(longest, n * epochs[c]);
      partial_round += epochs[c] < 2;
      if (std::find(s.positions.begin(), s.positions.end(), c) == s.positions.end()) {
        examples_drop += n * 2;
        longest_drop = std::max(longest_drop, n * 2);
      }
    }
    partial += static_cast<double>(partial_round);
    CHECK(k.get_double("included") == 10);
    CHECK(k.get_double("examples") == examples);
    CHECK(k.get_double("partial_updates") == static_cast<double>(partial_round));
    CHECK(d.get_double("included") == 5);
    CHECK(d.get_double("dropped_stragglers") == 5);
    CHECK(d.get_double("examples") == examples_drop);
    // The round lasts until its slowest kept update (the server does not wait for dropped
    // stragglers): comm + examples x FLOPs per sample / device FLOP/s.
    CHECK(k.get_double("round_duration_s") ==
          doctest::Approx(comm + longest * keep.flops_per_sample / 1e7).epsilon(1e-6));
    CHECK(d.get_double("round_duration_s") ==
          doctest::Approx(comm + longest_drop * keep.flops_per_sample / 1e7).epsilon(1e-6));
  }
  CHECK(partial > 0);

  // f = 1 with "drop": nothing to wait for, every round closes at once with no update.
  Run none = run_text(scenario("drop", "1.0"));
  for (const auto& row : none.sink.rounds) {
    CHECK(row.get_double("included") == 0);
    CHECK(row.get_double("round_duration_s") == 0);
  }
}

TEST_CASE("fedprox stragglers: bad options name the key") {
  const std::string base = std::string(kSynthetic) + "[rounds]\nper_round = 10\n";
  CHECK_THROWS_WITH(run_text(base + "stragglers = \"fedprox\"\nstraggler_fraction = 1.5\n"),
                    doctest::Contains("rounds.straggler_fraction"));
  CHECK_THROWS_WITH(run_text(base + "stragglers = \"fedprox\"\nstraggler_policy = \"wait\"\n"),
                    doctest::Contains("rounds.straggler_policy"));
  // Only the fedprox mode reads the fraction and the policy.
  CHECK_THROWS_WITH(run_text(base + "straggler_fraction = 0.5\n"),
                    doctest::Contains("rounds.straggler_fraction"));
  CHECK_THROWS_WITH(run_text(base + "stragglers = \"partial\"\nstraggler_policy = \"drop\"\n"),
                    doctest::Contains("only with rounds.stragglers = \"fedprox\""));
  std::string steps = base + "stragglers = \"fedprox\"\n";
  steps.replace(steps.find("epochs = 2"), 10, "steps = 5");
  CHECK_THROWS_WITH(run_text(steps), doctest::Contains("training.steps"));
}

TEST_CASE("fedprox straggler runs are bit-identical for 1 and 2 threads") {
  const std::string toml = std::string(kSynthetic) + R"(
prox_mu = 1.0
[rounds]
per_round = 12
eval_every = 2
train_eval_samples = 700
stragglers = "fedprox"
straggler_fraction = 0.5
[devices]
flops = {type = "lognormal", median = 1e8, sigma = 1.0}
)";
  Run a = run_text(toml, 1), b = run_text(toml, 2);
  CHECK(same_bits(a.sink, b.sink));
  CHECK(a.sink.rounds.back().get_double("partial_updates") > 0);
}

// ------------------------------------------------------------------- the global objective
namespace {
// Mean cross-entropy and accuracy of softmax regression `params` over every training sample of
// every client, computed here in double, sample by sample (not through Model::evaluate).
std::pair<double, double> softmax_on_union(const nn::Model& model, std::span<const float> params,
                                           const data::FederatedData& data) {
  const auto& mlp = dynamic_cast<const nn::Mlp&>(model);
  const float* w = params.data() + mlp.weight_offset(0);  // input_dim x classes, row-major
  const float* b = params.data() + mlp.bias_offset(0);
  const int dim = data.input_dim(), k = data.num_classes();
  double loss = 0, correct = 0, count = 0;
  data::Dataset buffer;
  std::vector<std::uint32_t> rows;
  std::vector<double> z(static_cast<std::size_t>(k));
  for (std::size_t c = 0; c < data.num_clients(); ++c) {
    const nn::ShardView v = data.client_train(c, buffer, rows);
    for (std::uint32_t row : v.rows) {
      const float* x = v.features + static_cast<std::size_t>(row) * dim;
      for (int j = 0; j < k; ++j) {
        double s = b[j];
        for (int i = 0; i < dim; ++i) s += static_cast<double>(x[i]) * w[i * k + j];
        z[j] = s;
      }
      const double zmax = *std::max_element(z.begin(), z.end());
      double sum = 0;
      for (double zj : z) sum += std::exp(zj - zmax);
      const int y = v.labels[row];
      loss += std::log(sum) + zmax - z[y];
      correct += std::max_element(z.begin(), z.end()) - z.begin() == y;
      count += 1;
    }
  }
  return {loss / count, correct / count};
}
}  // namespace

TEST_CASE("global_train_loss is the global model on the union of the clients' training data") {
  const std::string toml = std::string(kSynthetic) + R"(
[rounds]
per_round = 10
eval_every = 4
)";
  std::string small = toml;
  small.replace(small.find("count = 40"), 10, "count = 12");
  Run r = run_text(small);  // the union (12 clients) is far below train_eval_samples = 10000
  auto data = data_of(small, 12);
  auto model = nn::make_softmax_regression(data->input_dim(), data->num_classes());
  const auto [loss, acc] = softmax_on_union(*model, r.global, *data);
  REQUIRE(r.sink.rounds.size() == 6);
  const auto& last = r.sink.rounds.back();
  MESSAGE("global train loss " << last.get_double("global_train_loss") << ", direct " << loss);
  CHECK(last.get_double("global_train_loss") == doctest::Approx(loss).epsilon(1e-5));
  CHECK(last.get_double("global_train_accuracy") == doctest::Approx(acc).epsilon(1e-9));
  // Evaluated on eval rounds only (4 and the last, 6), NaN on the others, like the test metrics.
  for (const auto& row : r.sink.rounds) {
    const auto round = static_cast<std::int64_t>(row.get_double("round"));
    const bool eval = round == 4 || round == 6;
    CHECK(std::isnan(row.get_double("global_train_loss")) == !eval);
    CHECK(std::isnan(row.get_double("global_train_accuracy")) == !eval);
    CHECK(std::isnan(row.get_double("test_loss")) == !eval);
  }
  // The global model's loss on the training data is below its initial value.
  CHECK(last.get_double("global_train_loss") < std::log(static_cast<double>(data->num_classes())));

  // A fixed keyed sample of the union: close to the full value, and the same in every run.
  std::size_t total = 0;
  for (std::size_t c = 0; c < 12; ++c) total += data->client_size(c);
  REQUIRE(total > 400);
  Run sampled = run_text(small + "train_eval_samples = " + std::to_string(total / 2) + "\n");
  const double half = sampled.sink.rounds.back().get_double("global_train_loss");
  MESSAGE("on half of the " << total << " samples: " << half);
  CHECK(half != loss);
  CHECK(sampled.global == r.global);  // evaluation never changes what is learned
  // Generated data are sampled by whole clients (about 6 of these 12 non-IID devices), so the
  // estimate is rough; the exact check is the full union above.
  CHECK(std::abs(half - loss) < 0.35 * loss);
  CHECK(
      same_bits(sampled.sink,
                run_text(small + "train_eval_samples = " + std::to_string(total / 2) + "\n").sink));
  // Off: NaN everywhere.
  Run off = run_text(small + "train_eval_samples = 0\n");
  for (const auto& row : off.sink.rounds) CHECK(std::isnan(row.get_double("global_train_loss")));
}
