// The `server` coordinator: synchronous rounds and FedBuff in the event engine. What a client
// computes depends only on the model version it starts from, so the math of a round runs as one
// parallel batch in the learner; when each result exists is decided by events from the client's
// device profile (download + FLOPs / speed + upload), DESIGN.md "How a round flows".
#include "sim/fl/server.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <unordered_set>

#include <fmt/core.h>

#include "sim/core/engine.hpp"
#include "sim/core/rng.hpp"
#include "sim/fl/adversary.hpp"

namespace ledgerfl::fl {

using core::SimTime;
using scenario::Bounds;
using scenario::ParamView;

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

// Simulated time of a client's round: communication (model download + update upload, each
// with the one-way latency) plus compute (examples x FLOPs per sample / device FLOP/s).
struct ServerCoordinator::ClientTiming {
  double comm_s = 0.0;  // download + upload
  double per_example_s = 0.0;
  double examples = 0.0;  // of the full local work
  double total_s() const { return comm_s + examples * per_example_s; }
};

ServerCoordinator::ClientTiming ServerCoordinator::client_timing(std::size_t client,
                                                                 std::size_t samples) const {
  const agents::DeviceProfile d = population_->profile(client);
  const LocalOptions& local = learner_->local();
  const double bits = static_cast<double>(learner_->num_params()) * 32.0;
  ClientTiming t;
  t.comm_s = (bits / d.download_bps + d.latency_s) + (bits / d.upload_bps + d.latency_s);
  t.per_example_s = learner_->flops_per_sample() / d.flops;
  t.examples = local.steps > 0 ? static_cast<double>(local.steps * local.batch)
                               : static_cast<double>(samples) * local.epochs;
  return t;
}

// A deadline no client can ever meet is an error: the fastest possible round (the model's
// download and upload at the fastest bandwidth the device laws allow, twice the smallest
// latency, and for training.steps > 0 those steps at the fastest device) is a lower bound on
// every client's round. Laws without an upper bound (normal, lognormal, pareto speeds) give
// no bound on that term, which is then skipped (a lower bound still).
void ServerCoordinator::check_deadline(const ParamView& rp) const {
  if (opts_.mode != RoundOptions::Mode::kSync) return;  // async: the deadline only frees slots
  const agents::DeviceOptions& d = population_->options();
  const LocalOptions& local = learner_->local();
  const double bits = static_cast<double>(learner_->num_params()) * 32.0;
  const double down = d.download->upper_bound(), up = d.upload->upper_bound();
  const double lat = d.latency_s->lower_bound();
  double fastest = 2.0 * lat + bits / down + bits / up;  // bits / inf = 0
  const double steps = local.steps > 0 ? static_cast<double>(local.steps) : 1.0;
  fastest += steps * local.batch * learner_->flops_per_sample() / d.flops->upper_bound();
  if (opts_.deadline.seconds() < fastest)
    rp.fail(
        "deadline",
        fmt::format("= {} is shorter than the fastest possible client round, {:.6g} s "
                    "(download + upload of {} parameters at the fastest [devices] "
                    "bandwidth, 2 x the smallest latency, and at least one local step of "
                    "training.batch = {} at the fastest devices.flops): no update can ever "
                    "arrive",
                    core::to_string(opts_.deadline), fastest, learner_->num_params(), local.batch));
}

// ---------------------------------------------------------------------------- synchronous rounds
void ServerCoordinator::run_sync(core::Engine& engine, core::RunSink& sink) {
  Learner& L = *learner_;
  const RoundOptions& opts = opts_;
  const std::uint64_t seed = L.seed();
  const std::size_t num_clients = L.num_clients();
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
      tasks.push_back({a.client, static_cast<std::uint64_t>(st.r), st.r, L.version(), L.snapshot(),
                       0.0, a.steps, a.epochs});
      st.partial += a.steps > 0 || (a.epochs > 0 && a.epochs < L.local().epochs);
    }
    L.train(tasks);
    if (!tasks.empty()) {
      std::vector<double> w(tasks.size());
      for (std::size_t i = 0; i < tasks.size(); ++i)
        w[i] = static_cast<double>(L.result(i).samples);
      L.aggregate_and_apply(tasks, w);
    }
    core::RoundSummary row =
        L.make_row(st.r, engine.now().seconds(), (engine.now() - st.t0).seconds(), tasks,
                   opts.eval_round(st.r));
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
      if (!population_->online(c, r)) {
        ++st.offline;
        continue;
      }
      if (population_->crashes(c, r)) {
        ++st.crashed;
        continue;
      }
      training.push_back(c);
    }
    st.alive = static_cast<std::int64_t>(training.size());
    // "fedprox": which of the training devices straggle, and their epochs.
    StragglerDraw straggling;
    if (opts.fedprox_stragglers) {
      straggling = draw_stragglers(seed, r, training, opts.straggler_fraction, L.local().epochs);
      const std::size_t count = straggling.positions.size();
      st.stragglers = static_cast<std::int64_t>(count);
      st.expected = opts.keep_stragglers ? training.size() : training.size() - count;
    }
    std::size_t next_straggler = 0;
    for (std::size_t pos = 0; pos < training.size(); ++pos) {
      const std::size_t c = training[pos];
      const ClientTiming timing = client_timing(c, L.client_size(c));
      double secs = timing.total_s();
      std::int64_t steps = 0;
      int epochs = 0;
      if (next_straggler < straggling.positions.size() &&
          straggling.positions[next_straggler] == pos) {
        epochs = straggling.epochs[next_straggler++];
        if (!opts.keep_stragglers) continue;  // FedAvg: dropped, the server does not wait
        secs = timing.comm_s + timing.per_example_s * static_cast<double>(L.client_size(c)) *
                                   static_cast<double>(epochs);
      }
      if (opts.partial_work && secs > opts.deadline.seconds()) {
        // As many whole minibatch steps as fit before the deadline (at least one, else the
        // client is a straggler like any other).
        const double step_s = timing.per_example_s * L.local().batch;
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
void ServerCoordinator::run_async(core::Engine& engine, core::RunSink& sink) {
  Learner& L = *learner_;
  const RoundOptions& opts = opts_;
  const std::uint64_t seed = L.seed();
  const std::size_t num_clients = L.num_clients();
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
    L.train(tasks);
    std::vector<double> w(tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i)
      w[i] = static_cast<double>(L.result(i).samples) *
             std::pow(1.0 + tasks[i].staleness, -opts.staleness_exponent);
    L.aggregate_and_apply(tasks, w);
    const std::int64_t r = L.version();
    core::RoundSummary row = L.make_row(
        r, engine.now().seconds(), (engine.now() - last_agg).seconds(), tasks, opts.eval_round(r));
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
    if (!population_->online(c, L.version() + 1)) {
      ++offline;  // try again a little later (the coordinator polls for available clients)
      engine.schedule_in(SimTime::s(1), [&] { dispatch(); });
      return;
    }
    in_flight.insert(c);
    if (population_->crashes(c, key)) {
      ++crashed;  // silent: its slot frees at the deadline
      engine.schedule_in(opts.deadline, [&, c] {
        free_slot(c);
        dispatch();
      });
      return;
    }
    Task t{c, id, L.version() + 1, L.version(), L.snapshot(), 0.0};
    const double secs = client_timing(c, L.client_size(c)).total_s();
    engine.schedule_in(
        SimTime::from_seconds(secs),
        [&, t]() mutable {
          free_slot(t.client);
          if (done) return;
          t.staleness = static_cast<double>(L.version() - t.start_version);
          t.round = L.version() + 1;
          if (opts.max_staleness > 0 && L.version() - t.start_version > opts.max_staleness) {
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
RoundOptions read_round_options(const ParamView& root, std::size_t clients,
                                const LocalOptions& lo) {
  RoundOptions ro;
  // One /rounds row per round: the same 10^6 rows-per-run bound as chain runs.
  ro.rounds = root.table("simulation").integer("rounds", 10, Bounds::between(1, 1e6));
  const ParamView rp = root.table("rounds");
  static constexpr std::string_view kModes[] = {"sync", "async"};
  ro.mode = rp.choice("mode", kModes, "sync") == "async" ? RoundOptions::Mode::kAsync
                                                         : RoundOptions::Mode::kSync;
  ro.per_round = static_cast<std::size_t>(rp.integer("per_round", 10, Bounds::at_least(1)));
  if (ro.per_round > clients)
    rp.fail("per_round", "= " + std::to_string(ro.per_round) +
                             " exceeds clients.count = " + std::to_string(clients));
  ro.deadline = rp.duration("deadline", SimTime::s(600), Bounds::positive());
  ro.eval_every = rp.integer("eval_every", 1, Bounds::at_least(1));
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
  return ro;
}

ServerCoordinator::ServerCoordinator(const ParamView& root, std::shared_ptr<Learner> learner,
                                     const agents::DistributionRegistry& distributions)
    : learner_(std::move(learner)) {
  opts_ = read_round_options(root, learner_->num_clients(), learner_->local());
  population_ = std::make_unique<agents::Population>(
      learner_->num_clients(), learner_->seed(),
      agents::read_device_options(root.table("devices"), distributions));
}

ServerCoordinator::~ServerCoordinator() = default;

MemoryEstimate ServerCoordinator::memory() const {
  std::uint64_t deltas = opts_.per_round;
  if (opts_.mode == RoundOptions::Mode::kAsync)  // in-flight tasks hold their start snapshots
    deltas += std::min<std::uint64_t>(learner_->num_clients(),
                                      opts_.concurrency ? opts_.concurrency : 2 * opts_.per_round);
  return learner_->memory(deltas);
}

void ServerCoordinator::run(core::RunSink& sink) {
  const Learner& L = *learner_;
  sink.set_meta("model", L.model().name());
  sink.set_meta("num_params", static_cast<std::int64_t>(L.num_params()));
  sink.set_meta("clients", static_cast<std::int64_t>(L.num_clients()));
  if (const Adversary* adv = L.adversary())
    for (int k = 0; k <= static_cast<int>(adv->num_attacks()); ++k)
      sink.set_meta(fmt::format("attack.role.{}", k), adv->role_name(k));
  if (L.dry())
    throw std::logic_error("ServerCoordinator::run: built from a dry (validation-only) document");
  core::Engine engine;
  if (opts_.mode == RoundOptions::Mode::kSync)
    run_sync(engine, sink);
  else
    run_async(engine, sink);
}

std::unique_ptr<ServerCoordinator> build_server(const ParamView& root, std::uint64_t seed,
                                                const FlRegistries& regs) {
  std::shared_ptr<Learner> learner = Learner::build(root, seed, regs);
  auto server = std::make_unique<ServerCoordinator>(root, std::move(learner), regs.distributions);
  server->check_feasible(root);
  return server;
}

}  // namespace ledgerfl::fl
