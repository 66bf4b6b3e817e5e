// Federated-learning rounds in the event engine. What a client computes depends only on the model
// version it starts from, so the math of a round runs as one parallel batch (one client per TBB
// task, Eigen single-threaded inside); when each result exists is decided by events from the
// client's device profile (download + FLOPs / speed + upload), DESIGN.md "How a round flows".
#include "sim/fl/simulation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

#include <unistd.h>

#include <fmt/core.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <Eigen/Core>

#include "models/data/shared_federated.hpp"
#include "models/nn/trainer.hpp"
#include "sim/agents/device.hpp"
#include "sim/core/engine.hpp"
#include "sim/core/rng.hpp"
#include "sim/fl/dry_data.hpp"

namespace ledgerfl::fl {

using core::SimTime;
using scenario::Bounds;
using scenario::ParamView;

float LocalOptions::lr_at(std::int64_t round) const {
  if (schedule == Schedule::kConstant || step_rounds <= 0) return lr;
  const auto k = static_cast<double>((round - 1) / step_rounds);
  return static_cast<float>(lr * std::pow(gamma, k));
}

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kEvalChunk = 500;  // fixed, so evaluation sums are the same for any thread count

// Floyd's algorithm: m distinct values from [0, n), O(m) memory, returned sorted.
std::vector<std::size_t> sample_without_replacement(std::size_t n, std::size_t m, core::Rng& rng) {
  std::unordered_set<std::size_t> chosen;
  chosen.reserve(m * 2);
  std::vector<std::size_t> out;
  out.reserve(m);
  for (std::size_t j = n - m; j < n; ++j) {
    const std::size_t t = static_cast<std::size_t>(rng.below(j + 1));
    const std::size_t pick = chosen.count(t) ? j : t;
    chosen.insert(pick);
    out.push_back(pick);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

StragglerDraw draw_stragglers(std::uint64_t seed, std::int64_t round,
                              std::span<const std::size_t> training, double fraction, int epochs) {
  core::Rng rng(seed, "straggler", 0, static_cast<std::uint64_t>(round));
  const double target = fraction * static_cast<double>(training.size());
  const double whole = std::floor(target);
  // Stochastic rounding: the expected count is f n, and exactly f n when that is whole (the
  // draw is still made, so the stream is used the same way for every f).
  const bool extra = rng.uniform() < target - whole;
  const auto count = std::min(training.size(), static_cast<std::size_t>(whole) + (extra ? 1 : 0));
  StragglerDraw d;
  d.positions = sample_without_replacement(training.size(), count, rng);
  d.epochs.reserve(count);
  for (std::size_t p : d.positions) {
    core::Rng e(seed, "straggler_epochs", training[p], static_cast<std::uint64_t>(round));
    d.epochs.push_back(1 + static_cast<int>(e.below(static_cast<std::uint64_t>(epochs))));
  }
  return d;
}

namespace {
using Snapshot = std::shared_ptr<const std::vector<float>>;

// One unit of client work: train `client` from `start` (model version `start_version`).
struct Task {
  std::size_t client = 0;
  std::uint64_t key = 0;   // keys the client's shuffling stream
  std::int64_t round = 0;  // round whose learning rate applies
  std::int64_t start_version = 0;
  Snapshot start;
  double staleness = 0.0;
  std::int64_t steps = 0;  // > 0: partial work, this many local steps (FedProx stragglers)
  int epochs = 0;          // > 0: this many local epochs instead of training.epochs
};

struct TaskResult {
  nn::TrainResult train;
  std::size_t samples = 0;
  double norm = 0.0;
};
}  // namespace

struct FlSimulation::Impl {
  std::uint64_t seed = 0;
  std::size_t num_clients = 0;
  std::unique_ptr<data::FederatedData> data;
  std::unique_ptr<nn::Model> model;
  LocalOptions local;
  RoundOptions opts;
  std::unique_ptr<Aggregator> aggregator;
  std::unique_ptr<ServerOptimizer> server;
  std::unique_ptr<agents::Population> population;
  double flops_per_sample = 0.0;

  MemoryEstimate memory;

  std::vector<float> global;
  Snapshot snapshot;  // immutable copy of `global` that tasks start from
  std::int64_t version = 0;

  struct ThreadScratch {
    nn::TrainScratch train;
    data::Dataset buffer;
    std::vector<std::uint32_t> rows;
    std::unique_ptr<nn::Workspace> eval_ws;
  };
  tbb::enumerable_thread_specific<ThreadScratch> scratch;
  std::vector<std::vector<float>> deltas;  // one slot per task of a batch, reused
  std::vector<TaskResult> results;
  std::vector<std::size_t> schedule;  // execution order of a batch's tasks
  std::vector<std::size_t> sizes;     // their clients' sample counts
  std::vector<float> aggregate;
  data::Dataset train_eval;  // fixed sample of the union of the clients' training data

  // Simulated time of a client's round: communication (model download + update upload, each
  // with the one-way latency) plus compute (examples x FLOPs per sample / device FLOP/s).
  struct ClientTiming {
    double comm_s = 0.0;  // download + upload
    double per_example_s = 0.0;
    double examples = 0.0;  // of the full local work
    double total_s() const { return comm_s + examples * per_example_s; }
  };
  ClientTiming client_timing(std::size_t client, std::size_t samples) const {
    const agents::DeviceProfile d = population->profile(client);
    const double bits = static_cast<double>(global.size()) * 32.0;
    ClientTiming t;
    t.comm_s = (bits / d.download_bps + d.latency_s) + (bits / d.upload_bps + d.latency_s);
    t.per_example_s = flops_per_sample / d.flops;
    t.examples = local.steps > 0 ? static_cast<double>(local.steps * local.batch)
                                 : static_cast<double>(samples) * local.epochs;
    return t;
  }
  double client_seconds(std::size_t client, std::size_t samples) const {
    return client_timing(client, samples).total_s();
  }

  void train_batch(std::vector<Task>& tasks) {
    if (deltas.size() < tasks.size()) deltas.resize(tasks.size());
    results.assign(tasks.size(), TaskResult{});
    nn::SgdOptions base;
    base.momentum = local.momentum;
    base.weight_decay = local.weight_decay;
    base.prox_mu = local.prox_mu;
    base.batch = local.batch;
    base.epochs = local.epochs;
    base.steps = local.steps;
    // Largest clients first (longest-processing-time scheduling) balances the cores; each task
    // still writes only its own slot i, so the order of execution cannot change any result.
    // (Sizes are looked up once: for generated data client_size is a keyed draw, not a field.)
    sizes.resize(tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i) sizes[i] = data->client_size(tasks[i].client);
    schedule.resize(tasks.size());
    std::iota(schedule.begin(), schedule.end(), std::size_t{0});
    std::stable_sort(schedule.begin(), schedule.end(),
                     [&](std::size_t a, std::size_t b) { return sizes[a] > sizes[b]; });
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, tasks.size(), 1),
        [&](const tbb::blocked_range<std::size_t>& range) {
          ThreadScratch& s = scratch.local();
          for (std::size_t k = range.begin(); k < range.end(); ++k) {
            const std::size_t i = schedule[k];
            const Task& t = tasks[i];
            std::vector<float>& delta = deltas[i];
            const std::vector<float>& start = *t.start;
            delta.resize(start.size());
            nn::ShardView view = data->client_train(t.client, s.buffer, s.rows);
            nn::SgdOptions o = base;
            o.lr = local.lr_at(t.round);
            if (t.steps > 0) o.steps = t.steps;
            if (t.epochs > 0) o.epochs = t.epochs;
            core::Rng rng(seed, "local_train", t.client, t.key);
            auto shuffle = [&rng](std::span<std::uint32_t> v) { rng.shuffle(v); };
            TaskResult& r = results[i];
            // Trains in a per-thread buffer that stays in cache and streams out
            // delta = new weights - starting weights (and its squared norm).
            r.train = nn::train_local_delta(*model, delta, start, view, o, shuffle, s.train);
            r.samples = view.rows.size();
            r.norm = std::sqrt(r.train.delta_sq_norm);
          }
        },
        tbb::simple_partitioner());
  }

  // Applies the aggregate of tasks' deltas with the given weights; returns train-loss mean and
  // update-norm mean over the tasks.
  void aggregate_and_apply(const std::vector<Task>& tasks, const std::vector<double>& weights) {
    std::vector<ClientUpdate> updates(tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i)
      updates[i] = {tasks[i].client, weights[i], deltas[i]};
    aggregate.assign(global.size(), 0.0f);
    aggregator->aggregate(updates, aggregate);
    server->apply(global, aggregate);
    snapshot = std::make_shared<const std::vector<float>>(global);
    ++version;
  }

  // The global model on a data set (the test set, or the train_eval sample), in fixed chunks.
  nn::EvalResult evaluate(const data::Dataset& test) {
    const std::size_t n = test.size();
    const std::size_t chunks = (n + kEvalChunk - 1) / kEvalChunk;
    std::vector<nn::EvalResult> parts(chunks);
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, chunks, 1),
        [&](const tbb::blocked_range<std::size_t>& range) {
          ThreadScratch& s = scratch.local();
          if (!s.eval_ws) s.eval_ws = model->make_workspace(kEvalChunk);
          for (std::size_t c = range.begin(); c < range.end(); ++c) {
            const std::size_t lo = c * kEvalChunk;
            const int m = static_cast<int>(std::min<std::size_t>(kEvalChunk, n - lo));
            parts[c] = model->evaluate(global, test.features.data() + lo * test.dim(),
                                       test.labels.data() + lo, m, *s.eval_ws);
          }
        },
        tbb::simple_partitioner());
    nn::EvalResult total;
    for (const auto& p : parts) {  // fixed order
      total.loss_sum += p.loss_sum;
      total.correct += p.correct;
      total.count += p.count;
    }
    return total;
  }

  // Draws the train_eval sample once, from the keyed stream ("train_eval", 0, 0), so memory is
  // O(budget) plus one client however many clients are registered:
  //  - the union holds N <= budget samples: all of them (clients in id order);
  //  - shared data (a partitioned data set; a client's rows cost nothing to reach): budget of
  //    the N rows, uniformly without replacement (Floyd), walking the clients in id order;
  //  - generated data (materialising a client costs its whole size): whole clients drawn
  //    uniformly without replacement, in draw order, until budget samples (the last client
  //    contributes its first rows), so generation costs about `budget` samples.
  void build_train_eval(std::size_t budget) {
    if (budget == 0) return;
    std::uint64_t total = 0;
    for (std::size_t c = 0; c < num_clients; ++c) total += data->client_size(c);
    const std::size_t m = total <= budget ? static_cast<std::size_t>(total) : budget;
    const int dim = data->input_dim();
    train_eval.name = "train_eval";
    train_eval.num_classes = data->num_classes();
    train_eval.features.resize(static_cast<Eigen::Index>(m), dim);
    train_eval.labels.resize(m);
    data::Dataset buffer;
    std::vector<std::uint32_t> rows;
    std::size_t out = 0;
    auto copy = [&](const nn::ShardView& v, std::size_t i) {
      const std::size_t row = v.rows[i];
      std::copy_n(v.features + row * static_cast<std::size_t>(v.dim), v.dim,
                  train_eval.features.data() + out * static_cast<std::size_t>(dim));
      train_eval.labels[out++] = v.labels[row];
    };
    core::Rng rng(seed, "train_eval", 0, 0);
    if (total <= budget) {
      for (std::size_t c = 0; c < num_clients; ++c) {
        if (data->client_size(c) == 0) continue;
        const nn::ShardView v = data->client_train(c, buffer, rows);
        for (std::size_t i = 0; i < v.rows.size(); ++i) copy(v, i);
      }
    } else if (dynamic_cast<const data::SharedFederatedData*>(data.get()) != nullptr) {
      const std::vector<std::size_t> picks =
          sample_without_replacement(static_cast<std::size_t>(total), m, rng);
      std::size_t j = 0;
      std::uint64_t lo = 0;
      for (std::size_t c = 0; c < num_clients && j < m; ++c) {
        const std::uint64_t hi = lo + data->client_size(c);
        if (picks[j] < hi) {
          const nn::ShardView v = data->client_train(c, buffer, rows);
          for (; j < m && picks[j] < hi; ++j) copy(v, static_cast<std::size_t>(picks[j] - lo));
        }
        lo = hi;
      }
    } else {
      std::unordered_set<std::size_t> taken;
      while (out < m) {  // total > m, so clients remain while out < m
        const auto c = static_cast<std::size_t>(rng.below(num_clients));
        if (!taken.insert(c).second || data->client_size(c) == 0) continue;
        const nn::ShardView v = data->client_train(c, buffer, rows);
        for (std::size_t i = 0; i < v.rows.size() && out < m; ++i) copy(v, i);
      }
    }
  }

  bool eval_round(std::int64_t r) const {
    return r == opts.rounds || (opts.eval_every > 0 && r % opts.eval_every == 0);
  }

  // Common part of a round's row.
  core::RoundSummary make_row(std::int64_t r, SimTime now, double duration_s,
                              const std::vector<Task>& tasks) {
    core::RoundSummary row;
    row.add("round", r);
    row.add("sim_time_s", now.seconds());
    double acc = kNaN, loss = kNaN, train_acc = kNaN, train_loss = kNaN;
    if (eval_round(r)) {
      const nn::EvalResult e = evaluate(data->test_set());
      acc = e.count ? static_cast<double>(e.correct) / e.count : kNaN;
      loss = e.count ? e.loss_sum / e.count : kNaN;
      if (train_eval.size() > 0) {
        const nn::EvalResult g = evaluate(train_eval);
        train_acc = static_cast<double>(g.correct) / g.count;
        train_loss = g.loss_sum / g.count;
      }
    }
    row.add("test_accuracy", acc);
    row.add("test_loss", loss);
    row.add("global_train_loss", train_loss);
    row.add("global_train_accuracy", train_acc);
    double loss_w = 0.0, wsum = 0.0, norm = 0.0, stale = 0.0;
    std::int64_t examples = 0;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      const double w = static_cast<double>(results[i].samples);
      loss_w += w * results[i].train.mean_loss;
      wsum += w;
      norm += results[i].norm;
      stale += tasks[i].staleness;
      examples += results[i].train.examples;
    }
    const double k = static_cast<double>(tasks.size());
    row.add("train_loss", wsum > 0 ? loss_w / wsum : kNaN);
    row.add("round_duration_s", duration_s);
    row.add("update_norm_mean", k > 0 ? norm / k : kNaN);
    row.add("mean_staleness", k > 0 ? stale / k : kNaN);
    row.add("included", static_cast<std::int64_t>(tasks.size()));
    row.add("examples", examples);
    row.add("model_version", version);
    return row;
  }

  void run_sync(core::Engine& engine, core::RunSink& sink);
  void run_async(core::Engine& engine, core::RunSink& sink);

  // A deadline no client can ever meet is an error: the fastest possible round (the model's
  // download and upload at the fastest bandwidth the device laws allow, twice the smallest
  // latency, and for training.steps > 0 those steps at the fastest device) is a lower bound on
  // every client's round. Laws without an upper bound (normal, lognormal, pareto speeds) give
  // no bound on that term, which is then skipped (a lower bound still).
  void check_deadline(const ParamView& rp) const {
    if (opts.mode != RoundOptions::Mode::kSync) return;  // async: the deadline only frees slots
    const agents::DeviceOptions& d = population->options();
    const double bits = static_cast<double>(model->num_params()) * 32.0;
    const double down = d.download->upper_bound(), up = d.upload->upper_bound();
    const double lat = d.latency_s->lower_bound();
    double fastest = 2.0 * lat + bits / down + bits / up;  // bits / inf = 0
    const double steps = local.steps > 0 ? static_cast<double>(local.steps) : 1.0;
    fastest += steps * local.batch * flops_per_sample / d.flops->upper_bound();
    if (opts.deadline.seconds() < fastest)
      rp.fail(
          "deadline",
          fmt::format("= {} is shorter than the fastest possible client round, {:.6g} s "
                      "(download + upload of {} parameters at the fastest [devices] "
                      "bandwidth, 2 x the smallest latency, and at least one local step of "
                      "training.batch = {} at the fastest devices.flops): no update can ever "
                      "arrive",
                      core::to_string(opts.deadline), fastest, model->num_params(), local.batch));
  }
};

namespace {
std::string show_bytes(std::uint64_t b) {
  const double v = static_cast<double>(b);
  if (v >= 1024.0 * 1024 * 1024 * 1024)
    return fmt::format("{:.1f} TiB", v / (1024.0 * 1024 * 1024 * 1024));
  if (v >= 1024.0 * 1024 * 1024) return fmt::format("{:.1f} GiB", v / (1024.0 * 1024 * 1024));
  if (v >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", v / (1024.0 * 1024));
  return fmt::format("{:.1f} KiB", v / 1024.0);
}

// See MemoryEstimate in simulation.hpp for the formula.
MemoryEstimate estimate_memory(const FlSimulation::Impl& im, const LocalOptions& lo,
                               const RoundOptions& ro) {
  MemoryEstimate m;
  m.params = im.model->num_params();
  std::uint64_t act = 0;  // activations per sample: the layers' outputs
  for (const auto& l : im.model->layers()) act += static_cast<std::uint64_t>(l.fan_out);
  m.threads = static_cast<std::uint64_t>(
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
  m.deltas = ro.per_round;
  if (ro.mode == RoundOptions::Mode::kAsync)  // in-flight tasks hold their start snapshots
    m.deltas +=
        std::min<std::uint64_t>(im.num_clients, ro.concurrency ? ro.concurrency : 2 * ro.per_round);
  const std::uint64_t dim = static_cast<std::uint64_t>(im.data->input_dim());
  m.thread_extra = static_cast<std::uint64_t>(lo.batch) * (dim + 2 * act) * 4 +
                   static_cast<std::uint64_t>(kEvalChunk) * 2 * act * 4;
  std::uint64_t samples = ro.train_eval_samples;
  if (const auto* shape = dynamic_cast<const ShapeOnlyData*>(im.data.get())) {
    m.data = shape->shape().resident_bytes;
    m.thread_extra += shape->shape().buffer_bytes;
    if (shape->shape().train_samples > 0)
      samples = std::min<std::uint64_t>(samples, shape->shape().train_samples);
  }
  m.data += samples * (dim * 4 + 4) + static_cast<std::uint64_t>(im.num_clients) * 8;
  return m;
}

std::uint64_t machine_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0
             ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
             : 0;
}
}  // namespace

std::uint64_t MemoryEstimate::total() const {
  return params * 4 * (3 + deltas + 3 * threads) + threads * thread_extra + data;
}

std::string MemoryEstimate::formula() const {
  return fmt::format(
      "{} parameters x 4 B x (3 global/snapshot/aggregate + {} client deltas + 3 x "
      "{} threads of training scratch) + {} threads x {} activations/buffers + {} "
      "data",
      params, deltas, threads, threads, show_bytes(thread_extra), show_bytes(data));
}

std::string MemoryEstimate::summary() const {
  return show_bytes(total());
}

// ---------------------------------------------------------------------------- synchronous rounds
void FlSimulation::Impl::run_sync(core::Engine& engine, core::RunSink& sink) {
  struct RoundState {
    std::int64_t r = 0;
    SimTime t0;
    struct Arrival {
      std::size_t client;
      std::int64_t steps;  // > 0: partial work in steps (deadline mode "partial")
      int epochs;          // > 0: a kept FedProx straggler's epochs
      bool operator<(const Arrival& o) const { return client < o.client; }
    };
    std::vector<Arrival> arrived;
    std::vector<core::EventId> arrivals;
    core::EventId deadline;
    std::int64_t participants = 0, offline = 0, crashed = 0, alive = 0, partial = 0;
    std::int64_t stragglers = 0;  // "fedprox": devices drawn as stragglers this round
    std::size_t expected = 0;     // "fedprox": updates the round waits for
    bool closed = false;
    std::chrono::steady_clock::time_point wall0;
  } st;

  std::function<void(std::int64_t)> start_round;
  auto close_round = [&] {
    if (st.closed) return;
    st.closed = true;
    for (auto id : st.arrivals) engine.cancel(id);
    engine.cancel(st.deadline);
    std::vector<Task> tasks;
    tasks.reserve(st.arrived.size());
    std::sort(st.arrived.begin(), st.arrived.end());  // math order independent of arrival ties
    for (const auto& a : st.arrived) {
      tasks.push_back({a.client, static_cast<std::uint64_t>(st.r), st.r, version, snapshot, 0.0,
                       a.steps, a.epochs});
      st.partial += a.steps > 0 || (a.epochs > 0 && a.epochs < local.epochs);
    }
    train_batch(tasks);
    if (!tasks.empty()) {
      std::vector<double> w(tasks.size());
      for (std::size_t i = 0; i < tasks.size(); ++i) w[i] = static_cast<double>(results[i].samples);
      aggregate_and_apply(tasks, w);
    }
    core::RoundSummary row = make_row(st.r, engine.now(), (engine.now() - st.t0).seconds(), tasks);
    row.add("participants", st.participants);
    row.add("dropped_stragglers", st.alive - static_cast<std::int64_t>(st.arrived.size()));
    row.add("dropped_offline", st.offline);
    row.add("dropped_crashed", st.crashed);
    row.add("partial_updates", st.partial);
    row.add("stragglers", st.stragglers);
    row.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - st.wall0).count();
    sink.on_round(row);
    sink.flush();
    if (st.r < opts.rounds) {
      const std::int64_t next = st.r + 1;
      engine.schedule_in(SimTime{}, [&, next] { start_round(next); });
    }
  };

  start_round = [&](std::int64_t r) {
    st = RoundState{};
    st.r = r;
    st.t0 = engine.now();
    st.wall0 = std::chrono::steady_clock::now();
    const auto m = std::min<std::size_t>(
        num_clients,
        static_cast<std::size_t>(std::ceil(opts.per_round * (1.0 + opts.over_selection) - 1e-9)));
    core::Rng rng(seed, "select", 0, static_cast<std::uint64_t>(r));
    const std::vector<std::size_t> chosen = sample_without_replacement(num_clients, m, rng);
    st.participants = static_cast<std::int64_t>(chosen.size());
    std::vector<std::size_t> training;  // selected, online and not crashing
    for (std::size_t c : chosen) {
      if (!population->online(c, r)) {
        ++st.offline;
        continue;
      }
      if (population->crashes(c, r)) {
        ++st.crashed;
        continue;
      }
      training.push_back(c);
    }
    st.alive = static_cast<std::int64_t>(training.size());
    // "fedprox": which of the training devices straggle, and their epochs.
    StragglerDraw straggling;
    if (opts.fedprox_stragglers) {
      straggling = draw_stragglers(seed, r, training, opts.straggler_fraction, local.epochs);
      const std::size_t count = straggling.positions.size();
      st.stragglers = static_cast<std::int64_t>(count);
      st.expected = opts.keep_stragglers ? training.size() : training.size() - count;
    }
    std::size_t next_straggler = 0;
    for (std::size_t pos = 0; pos < training.size(); ++pos) {
      const std::size_t c = training[pos];
      const ClientTiming timing = client_timing(c, data->client_size(c));
      double secs = timing.total_s();
      std::int64_t steps = 0;
      int epochs = 0;
      if (next_straggler < straggling.positions.size() &&
          straggling.positions[next_straggler] == pos) {
        epochs = straggling.epochs[next_straggler++];
        if (!opts.keep_stragglers) continue;  // FedAvg: dropped, the server does not wait
        secs = timing.comm_s + timing.per_example_s * static_cast<double>(data->client_size(c)) *
                                   static_cast<double>(epochs);
      }
      if (opts.partial_work && secs > opts.deadline.seconds()) {
        // As many whole minibatch steps as fit before the deadline (at least one, else the
        // client is a straggler like any other).
        const double step_s = timing.per_example_s * local.batch;
        const auto fit = static_cast<std::int64_t>(
            std::floor((opts.deadline.seconds() - timing.comm_s) / step_s));
        if (fit >= 1) {
          steps = fit;
          secs = timing.comm_s + static_cast<double>(fit) * step_s;
        }
      }
      st.arrivals.push_back(engine.schedule_in(
          SimTime::from_seconds(secs),
          [&, c, steps, epochs] {
            if (st.closed) return;
            st.arrived.push_back({c, steps, epochs});
            if (st.arrived.size() >= opts.per_round ||
                (opts.fedprox_stragglers && st.arrived.size() >= st.expected))
              close_round();
          },
          /*phase=*/1));
    }
    // "fedprox" with nothing to wait for (every device dropped): the round closes at once.
    const bool nothing_expected = opts.fedprox_stragglers && st.expected == 0;
    st.deadline =
        engine.schedule_in(nothing_expected ? SimTime{} : opts.deadline, close_round, /*phase=*/2);
  };

  engine.schedule_at(engine.now(), [&] { start_round(1); });
  engine.run();
}

// ------------------------------------------------------- buffered asynchronous rounds (FedBuff)
// Nguyen et al. 2022, "Federated Learning with Buffered Asynchronous Aggregation", Alg. 1:
// `concurrency` clients train at once, each from the model version current when it starts; the
// server aggregates every K arrivals with staleness weight (1 + s)^-a and a server step.
void FlSimulation::Impl::run_async(core::Engine& engine, core::RunSink& sink) {
  const std::size_t concurrency =
      std::min(num_clients, opts.concurrency ? opts.concurrency : 2 * opts.per_round);
  std::unordered_set<std::size_t> in_flight;
  std::vector<Task> buffer;
  std::uint64_t dispatches = 0;
  std::int64_t participants = 0, offline = 0, crashed = 0, stale_dropped = 0;
  SimTime last_agg = engine.now();
  auto wall0 = std::chrono::steady_clock::now();
  bool done = false;

  std::function<void()> dispatch;
  auto free_slot = [&](std::size_t c) { in_flight.erase(c); };

  auto aggregate_now = [&] {
    std::vector<Task> tasks;
    tasks.swap(buffer);
    std::sort(tasks.begin(), tasks.end(),
              [](const Task& a, const Task& b) { return a.client < b.client; });
    train_batch(tasks);
    std::vector<double> w(tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i)
      w[i] = static_cast<double>(results[i].samples) *
             std::pow(1.0 + tasks[i].staleness, -opts.staleness_exponent);
    aggregate_and_apply(tasks, w);
    const std::int64_t r = version;
    core::RoundSummary row = make_row(r, engine.now(), (engine.now() - last_agg).seconds(), tasks);
    row.add("participants", participants);
    row.add("dropped_stragglers", stale_dropped);
    row.add("dropped_offline", offline);
    row.add("dropped_crashed", crashed);
    row.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    sink.on_round(row);
    sink.flush();
    participants = offline = crashed = stale_dropped = 0;
    last_agg = engine.now();
    wall0 = std::chrono::steady_clock::now();
    if (r >= opts.rounds) {
      done = true;
      engine.stop();
    }
  };

  dispatch = [&] {
    if (done || in_flight.size() >= concurrency) return;
    const std::uint64_t id = dispatches++;
    core::Rng rng(seed, "async_select", 0, id);
    std::size_t c = static_cast<std::size_t>(rng.below(num_clients));
    for (int tries = 0; in_flight.count(c) && tries < 1000; ++tries)
      c = static_cast<std::size_t>(rng.below(num_clients));
    if (in_flight.count(c)) return;
    ++participants;
    const std::int64_t key = static_cast<std::int64_t>(id);
    if (!population->online(c, version + 1)) {
      ++offline;  // try again a little later (the coordinator polls for available clients)
      engine.schedule_in(SimTime::s(1), [&] { dispatch(); });
      return;
    }
    in_flight.insert(c);
    if (population->crashes(c, key)) {
      ++crashed;  // silent: its slot frees at the deadline
      engine.schedule_in(opts.deadline, [&, c] {
        free_slot(c);
        dispatch();
      });
      return;
    }
    Task t{c, id, version + 1, version, snapshot, 0.0};
    const double secs = client_seconds(c, data->client_size(c));
    engine.schedule_in(
        SimTime::from_seconds(secs),
        [&, t]() mutable {
          free_slot(t.client);
          if (done) return;
          t.staleness = static_cast<double>(version - t.start_version);
          t.round = version + 1;
          if (opts.max_staleness > 0 && version - t.start_version > opts.max_staleness) {
            ++stale_dropped;
          } else {
            buffer.push_back(std::move(t));
          }
          if (buffer.size() >= opts.per_round) aggregate_now();
          dispatch();
        },
        /*phase=*/1);
  };

  engine.schedule_at(engine.now(), [&] {
    for (std::size_t i = 0; i < concurrency; ++i) dispatch();
  });
  engine.run();
}

// ------------------------------------------------------------------------------------- building
std::unique_ptr<FlSimulation> FlSimulation::build(const ParamView& root, std::uint64_t seed,
                                                  const FlRegistries& regs) {
  auto impl = std::make_unique<Impl>();
  impl->seed = seed;
  const ParamView sim = root.table("simulation");
  // One /rounds row per round: the same 10^6 rows-per-run bound as chain runs.
  impl->opts.rounds = sim.integer("rounds", 10, Bounds::between(1, 1e6));

  const ParamView clients = root.table("clients");
  impl->num_clients = static_cast<std::size_t>(clients.integer("count", 100, Bounds::at_least(1)));

  const ParamView data_p = root.table("data");
  impl->data = regs.datasets.get(data_p).factory(data_p, impl->num_clients, seed, regs);

  const ParamView model_p = root.table("model");
  impl->model =
      regs.models.get(model_p).factory(model_p, impl->data->input_dim(), impl->data->num_classes());
  impl->flops_per_sample = impl->model->train_flops_per_sample();

  const ParamView tr = root.table("training");
  LocalOptions& lo = impl->local;
  lo.lr = static_cast<float>(tr.number("lr", 0.05, Bounds::positive()));
  lo.momentum = static_cast<float>(tr.number("momentum", 0.0, {0.0, 1.0, false, true}));
  lo.weight_decay = static_cast<float>(tr.number("weight_decay", 0.0, Bounds::non_negative()));
  lo.prox_mu = static_cast<float>(tr.number("prox_mu", 0.0, Bounds::non_negative()));
  lo.batch = static_cast<int>(tr.integer("batch", 32, Bounds::between(1, 1 << 16)));
  lo.epochs = static_cast<int>(tr.integer("epochs", 1, Bounds::between(1, 10000)));
  lo.steps = tr.integer("steps", 0, Bounds::between(0, 1e6));  // per client and round
  static constexpr std::string_view kSchedules[] = {"constant", "step"};
  if (tr.choice("lr_schedule", kSchedules, "constant") == "step") {
    lo.schedule = LocalOptions::Schedule::kStep;
    lo.gamma = tr.number("lr_gamma", 0.5, {0.0, 1.0, true, false});
    lo.step_rounds = tr.integer("lr_step_rounds", 10, Bounds::at_least(1));
  }

  const ParamView rp = root.table("rounds");
  RoundOptions& ro = impl->opts;
  static constexpr std::string_view kModes[] = {"sync", "async"};
  ro.mode = rp.choice("mode", kModes, "sync") == "async" ? RoundOptions::Mode::kAsync
                                                         : RoundOptions::Mode::kSync;
  ro.per_round = static_cast<std::size_t>(rp.integer("per_round", 10, Bounds::at_least(1)));
  if (ro.per_round > impl->num_clients)
    rp.fail("per_round", "= " + std::to_string(ro.per_round) +
                             " exceeds clients.count = " + std::to_string(impl->num_clients));
  ro.deadline = rp.duration("deadline", SimTime::s(600), Bounds::positive());
  ro.eval_every = rp.integer("eval_every", 1, Bounds::at_least(1));
  ro.train_eval_samples = static_cast<std::size_t>(
      rp.integer("train_eval_samples", 10000, Bounds::between(0, std::int64_t{1} << 32)));
  if (ro.mode == RoundOptions::Mode::kSync) {
    ro.over_selection = rp.number("over_selection", 0.0, Bounds::between(0.0, 10.0));
    static constexpr std::string_view kStragglerModes[] = {"drop", "partial", "fedprox"};
    const std::string mode = rp.choice("stragglers", kStragglerModes, "drop");
    ro.partial_work = mode == "partial";
    ro.fedprox_stragglers = mode == "fedprox";
    if (ro.fedprox_stragglers) {
      ro.straggler_fraction = rp.number("straggler_fraction", 0.0, Bounds::between(0.0, 1.0));
      static constexpr std::string_view kPolicies[] = {"keep", "drop"};
      ro.keep_stragglers = rp.choice("straggler_policy", kPolicies, "keep") == "keep";
      if (lo.steps > 0)
        rp.fail("stragglers", "= \"fedprox\" draws local epochs; it needs training.steps = 0 (is " +
                                  std::to_string(lo.steps) + ")");
    }
    for (const char* key : {"straggler_fraction", "straggler_policy"})
      if (!ro.fedprox_stragglers && rp.has(key))
        rp.fail(key, "is read only with rounds.stragglers = \"fedprox\" (here \"" + mode + "\")");
  } else {
    ro.concurrency = static_cast<std::size_t>(rp.integer("concurrency", 0, Bounds::non_negative()));
    if (ro.concurrency != 0 && ro.concurrency < ro.per_round)
      rp.fail("concurrency", "must be >= per_round (" + std::to_string(ro.per_round) + ") or 0");
    ro.staleness_exponent = rp.number("staleness_exponent", 0.5, Bounds::non_negative());
    ro.max_staleness = rp.integer("max_staleness", 0, Bounds::non_negative());
  }

  const ParamView ag = root.table("aggregator");
  impl->aggregator = regs.aggregators.get(ag, "type", "fedavg").factory(ag);
  const ParamView sv = root.table("server");
  impl->server = regs.server_optimizers.get(sv, "type", "sgd").factory(sv);

  const ParamView dev = root.table("devices");
  impl->population = std::make_unique<agents::Population>(
      impl->num_clients, seed, agents::read_device_options(dev, regs.distributions));
  impl->memory = estimate_memory(*impl, lo, ro);
  if (root.dry()) {
    // Validation: everything is read and checked; refuse what this machine cannot hold.
    const std::uint64_t have = machine_memory_bytes();
    if (have > 0 && impl->memory.total() > have)
      model_p.fail(
          model_p.has("hidden") ? "hidden" : "",
          fmt::format("the run needs an estimated {} ({}), more than this machine's {} "
                      "of physical memory; the keys that drive it: model.* and data.dim "
                      "(parameters), rounds.per_round (per-client deltas), --threads "
                      "(scratch), data.* (the data set)",
                      show_bytes(impl->memory.total()), impl->memory.formula(), show_bytes(have)));
  }
  impl->check_deadline(rp);
  if (root.dry()) return std::unique_ptr<FlSimulation>(new FlSimulation(std::move(impl)));

  impl->global.assign(impl->model->num_params(), 0.0f);
  impl->model->init(impl->global, core::mix_key(seed, core::purpose_id("model_init"), 0, 0));
  impl->snapshot = std::make_shared<const std::vector<float>>(impl->global);
  impl->build_train_eval(ro.train_eval_samples);
  return std::unique_ptr<FlSimulation>(new FlSimulation(std::move(impl)));
}

FlSimulation::FlSimulation(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FlSimulation::~FlSimulation() = default;
std::int64_t FlSimulation::total_rounds() const {
  return impl_->opts.rounds;
}
const MemoryEstimate& FlSimulation::memory() const {
  return impl_->memory;
}
std::size_t FlSimulation::num_params() const {
  return impl_->model->num_params();
}
const nn::Model& FlSimulation::model() const {
  return *impl_->model;
}
std::span<const float> FlSimulation::global_params() const {
  return impl_->global;
}

void FlSimulation::run(core::RunSink& sink) {
  sink.set_meta("model", impl_->model->name());
  sink.set_meta("num_params", static_cast<std::int64_t>(impl_->global.size()));
  sink.set_meta("clients", static_cast<std::int64_t>(impl_->num_clients));
  if (impl_->global.empty())
    throw std::logic_error("FlSimulation::run: built from a dry (validation-only) document");
  core::Engine engine;
  if (impl_->opts.mode == RoundOptions::Mode::kSync)
    impl_->run_sync(engine, sink);
  else
    impl_->run_async(engine, sink);
}

}  // namespace ledgerfl::fl
