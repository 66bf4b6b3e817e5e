// The learner: local training of a batch of tasks in parallel (one client per TBB task, Eigen
// single-threaded inside), aggregation, the server optimizer and evaluation. It knows nothing of
// time or of who coordinates it.
#include "sim/fl/learner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

#include <unistd.h>

#include <fmt/core.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <Eigen/Core>

#include "models/data/shared_federated.hpp"
#include "sim/core/parallel.hpp"
#include "sim/core/rng.hpp"
#include "sim/fl/adversary.hpp"
#include "sim/fl/dry_data.hpp"

namespace ledgerfl::fl {

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
}  // namespace

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

struct Learner::Impl {
  std::uint64_t seed = 0;
  bool dry = false;
  std::size_t num_clients = 0;
  std::unique_ptr<data::FederatedData> data;
  std::unique_ptr<nn::Model> model;
  LocalOptions local;
  std::size_t train_eval_samples = 10000;
  std::unique_ptr<Aggregator> aggregator;
  std::unique_ptr<ServerOptimizer> server;
  double flops_per_sample = 0.0;

  std::vector<float> global;
  Snapshot snapshot;  // immutable copy of `global` that tasks start from
  std::int64_t version = 0;

  struct ThreadScratch {
    nn::TrainScratch train;
    data::Dataset buffer;
    std::vector<std::uint32_t> rows;
    std::unique_ptr<nn::Workspace> eval_ws;
    data::Dataset poison;  // a data-poisoning identity's private copy of its rows
    std::vector<std::uint32_t> poison_rows;
  };
  tbb::enumerable_thread_specific<ThreadScratch> scratch;
  std::vector<std::vector<float>> deltas;  // one slot per task of a batch, reused
  std::vector<TaskResult> results;
  std::vector<std::size_t> schedule;  // execution order of a batch's tasks
  std::vector<std::size_t> sizes;     // their clients' sample counts
  std::vector<float> aggregate;
  data::Dataset train_eval;  // fixed sample of the union of the clients' training data

  // Attacks (nullptr: none). Per slot of the last train(): whether an active attacker produced
  // it; the slots the commit phase rewrote after the per-task hooks ran.
  std::unique_ptr<Adversary> adversary;
  Snapshot previous;  // the global model before the last apply (w_{t-1})
  std::vector<char> malicious;
  std::vector<std::size_t> slot_clients;
  std::vector<std::size_t> rewritten;
  std::vector<std::vector<float>> own_copies;  // "own"-knowledge attacks' trained updates
  // The recorded aggregation of the round (the one applied): per update, malicious and trust.
  struct Detection {
    bool valid = false;
    std::vector<char> malicious;
    std::vector<double> trust;
    std::string note;
  } detection;
  // FLTrust's root data set (the first aggregator.root_samples rows of train_eval).
  data::Dataset root;
  nn::TrainScratch root_scratch;
  std::int64_t aggregations = 0;

  void train_batch(const std::vector<Task>& tasks, const AfterTask& after,
                   const AfterTask& stream) {
    if (deltas.size() < tasks.size()) deltas.resize(tasks.size());
    results.assign(tasks.size(), TaskResult{});
    malicious.assign(tasks.size(), 0);
    slot_clients.resize(tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i) slot_clients[i] = tasks[i].client;
    rewritten.clear();
    detection.valid = false;
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
    core::parallel_for(tasks.size(), [&](std::size_t k) {
      ThreadScratch& s = scratch.local();
      {
        const std::size_t i = schedule[k];
        const Task& t = tasks[i];
        std::vector<float>& delta = deltas[i];
        const std::vector<float>& start = *t.start;
        delta.resize(start.size());
        nn::ShardView view = data->client_train(t.client, s.buffer, s.rows);
        Adversary::Identity who;
        const agents::ClientAttack* attack =
            adversary ? adversary->acting(t.client, t.round, &who) : nullptr;
        malicious[i] = attack != nullptr;
        TaskResult& r = results[i];
        if (attack && !attack->trains()) {  // a free-rider: submits without training
          std::fill(delta.begin(), delta.end(), 0.0f);
          r.samples = view.rows.size();  // what it claims
          r.train.mean_loss = kNaN;
          return;
        }
        if (attack && attack->poisons_data()) view = poison_view(view, s, *attack, who, t);
        nn::SgdOptions o = base;
        o.lr = local.lr_at(t.round);
        if (t.steps > 0) o.steps = t.steps;
        if (t.epochs > 0) o.epochs = t.epochs;
        core::Rng rng(seed, "local_train", t.client, t.key);
        auto shuffle = [&rng](std::span<std::uint32_t> v) { rng.shuffle(v); };
        // Trains in a per-thread buffer that stays in cache and streams out
        // delta = new weights - starting weights (and its squared norm).
        nn::DeltaChunkFn chunk;
        if (stream) chunk = [&stream, i](std::span<const float> c) { stream(i, c); };
        r.train = nn::train_local_delta(*model, delta, start, view, o, shuffle, s.train, chunk);
        r.samples = view.rows.size();
        r.norm = std::sqrt(r.train.delta_sq_norm);
        if (after) after(i, delta);
      }
    });
    if (adversary) commit_phase(tasks);
  }

  // A private copy of the identity's rows, rewritten by the attack (keyed per client and round).
  nn::ShardView poison_view(const nn::ShardView& v, ThreadScratch& s,
                            const agents::ClientAttack& attack, const Adversary::Identity& who,
                            const Task& t) {
    const std::size_t n = v.rows.size();
    const auto dim = static_cast<std::size_t>(v.dim);
    s.poison.features.resize(static_cast<Eigen::Index>(n), v.dim);
    s.poison.labels.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
      std::copy_n(v.features + static_cast<std::size_t>(v.rows[k]) * dim, dim,
                  s.poison.features.data() + k * dim);
      s.poison.labels[k] = v.labels[v.rows[k]];
    }
    core::Rng rng(seed, "attack_poison", t.client, static_cast<std::uint64_t>(t.round));
    attack.poison(who.index, adversary->identities(who.attack), t.round,
                  {s.poison.features.data(), n * dim}, v.dim, s.poison.labels, rng);
    s.poison_rows.resize(n);
    std::iota(s.poison_rows.begin(), s.poison_rows.end(), 0u);
    return nn::ShardView{s.poison.features.data(), s.poison.labels.data(), v.dim, s.poison_rows};
  }

  // The round's sequential commit phase (attack.hpp, step 2): every attack crafts its active
  // identities' updates, knowing the round's benign updates (omniscient) or its own.
  void commit_phase(const std::vector<Task>& tasks) {
    rewritten.clear();
    std::int64_t round = 0;
    for (const Task& t : tasks) round = std::max(round, t.round);
    std::vector<std::span<const float>> benign;
    for (std::size_t i = 0; i < tasks.size(); ++i)
      if (!malicious[i]) benign.push_back(deltas[i]);
    for (std::size_t k = 0; k < adversary->num_attacks(); ++k) {
      std::vector<std::size_t> slots;
      for (std::size_t i = 0; i < tasks.size(); ++i) {
        if (!malicious[i]) continue;
        const Adversary::Identity* id = adversary->identity(tasks[i].client);
        if (id && id->attack == k) slots.push_back(i);
      }
      if (slots.empty()) continue;
      std::vector<std::span<float>> mine;
      for (std::size_t i : slots) mine.push_back(deltas[i]);
      std::vector<std::span<const float>> own;
      if (!adversary->omniscient(k)) {
        own_copies.resize(std::max(own_copies.size(), slots.size()));
        for (std::size_t j = 0; j < slots.size(); ++j) {
          own_copies[j].assign(deltas[slots[j]].begin(), deltas[slots[j]].end());
          if (adversary->attack(k).trains()) own.push_back(own_copies[j]);
        }
      }
      agents::CraftInput in;
      in.round = round;
      in.seed = core::mix_key(seed, core::purpose_id("attack_craft"), k,
                              static_cast<std::uint64_t>(round));
      in.global = *tasks[slots[0]].start;
      if (previous) in.previous_global = *previous;
      in.n = tasks.size();
      in.num_malicious = slots.size();
      in.known = adversary->omniscient(k) ? std::span<const std::span<const float>>(benign)
                                          : std::span<const std::span<const float>>(own);
      adversary->attack(k).craft(in, mine);
      for (std::size_t i : slots) {
        double sq = 0.0;
        for (float x : deltas[i]) sq += static_cast<double>(x) * x;
        results[i].norm = std::sqrt(sq);
        rewritten.push_back(i);
      }
    }
    std::sort(rewritten.begin(), rewritten.end());
  }

  void aggregate_into(const std::vector<Task>& tasks, const std::vector<double>& weights,
                      std::vector<float>& out) {
    std::vector<std::size_t> slots(tasks.size());
    std::iota(slots.begin(), slots.end(), std::size_t{0});
    std::vector<std::size_t> clients(tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i) clients[i] = tasks[i].client;
    aggregate_slots(slots, clients, weights, out, true);
  }

  // The aggregation of deltas[slots[j]] (client clients[j], weight weights[j]); `record` keeps
  // its trust report for the round's detection metrics.
  void aggregate_slots(std::span<const std::size_t> slots, std::span<const std::size_t> clients,
                       std::span<const double> weights, std::vector<float>& out, bool record) {
    std::vector<ClientUpdate> updates(slots.size());
    for (std::size_t j = 0; j < slots.size(); ++j)
      updates[j] = {clients[j], weights[j], deltas.at(slots[j])};
    out.assign(global.size(), 0.0f);
    AggregationContext ctx;
    ctx.round = version + 1;
    ctx.seed = core::mix_key(seed, core::purpose_id("aggregate"), 0,
                             static_cast<std::uint64_t>(version + 1));
    if (adversary)
      ctx.byzantine = static_cast<std::size_t>(
          std::llround(adversary->malicious_fraction() * static_cast<double>(slots.size())));
    ctx.global = global;
    if (aggregator->needs_root_update())
      ctx.root_update = [this](std::span<float> d) { root_update(d); };
    ctx.round_result = record;
    AggregationReport report;
    aggregator->aggregate(updates, out, ctx, record ? &report : nullptr);
    if (record) {
      detection = Detection{};
      detection.valid = true;
      detection.note = report.note;
      detection.trust = report.trust;
      if (detection.trust.size() != slots.size()) detection.trust.assign(slots.size(), 1.0);
      for (std::size_t s : slots)
        detection.malicious.push_back(s < malicious.size() && malicious[s]);
    }
  }

  // FLTrust's server update g_0: local training on the root data set from the current global.
  void root_update(std::span<float> d) {
    if (root.size() == 0)
      throw std::logic_error("aggregator needs a root data set: rounds.train_eval_samples = 0");
    nn::SgdOptions o;
    o.momentum = local.momentum;
    o.weight_decay = local.weight_decay;
    o.batch = local.batch;
    o.epochs = local.epochs;
    o.lr = local.lr_at(version + 1);
    std::vector<std::uint32_t> ids;
    const nn::ShardView view = root.all_rows(ids);
    core::Rng rng(seed, "root_update", 0, static_cast<std::uint64_t>(version + 1));
    auto shuffle = [&rng](std::span<std::uint32_t> v) { rng.shuffle(v); };
    nn::train_local_delta(*model, d, global, view, o, shuffle, root_scratch, {});
  }

  void apply(std::span<const float> agg) {
    if (adversary) previous = snapshot;
    server->apply(global, agg);
    snapshot = std::make_shared<const std::vector<float>>(global);
    ++version;
  }

  nn::EvalResult evaluate(std::span<const float> params, const data::Dataset& test) {
    const std::size_t n = test.size();
    const std::size_t chunks = (n + kEvalChunk - 1) / kEvalChunk;
    std::vector<nn::EvalResult> parts(chunks);
    core::parallel_for(chunks, [&](std::size_t c) {
      ThreadScratch& s = scratch.local();
      if (!s.eval_ws) s.eval_ws = model->make_workspace(kEvalChunk);
      {
        const std::size_t lo = c * kEvalChunk;
        const int m = static_cast<int>(std::min<std::size_t>(kEvalChunk, n - lo));
        parts[c] = model->evaluate(params, test.features.data() + lo * test.dim(),
                                   test.labels.data() + lo, m, *s.eval_ws);
      }
    });
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
    } else if (data->rows_are_shared()) {
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
};

std::string show_bytes(std::uint64_t b) {
  const double v = static_cast<double>(b);
  if (v >= 1024.0 * 1024 * 1024 * 1024)
    return fmt::format("{:.1f} TiB", v / (1024.0 * 1024 * 1024 * 1024));
  if (v >= 1024.0 * 1024 * 1024) return fmt::format("{:.1f} GiB", v / (1024.0 * 1024 * 1024));
  if (v >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", v / (1024.0 * 1024));
  return fmt::format("{:.1f} KiB", v / 1024.0);
}

std::uint64_t machine_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0
             ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
             : 0;
}

std::uint64_t MemoryEstimate::total() const {
  return params * 4 * (3 + deltas + 3 * threads) + threads * thread_extra + data + extra;
}

std::string MemoryEstimate::formula() const {
  std::string s = fmt::format(
      "{} parameters x 4 B x (3 global/snapshot/aggregate + {} client deltas + 3 x "
      "{} threads of training scratch) + {} threads x {} activations/buffers + {} "
      "data",
      params, deltas, threads, threads, show_bytes(thread_extra), show_bytes(data));
  if (extra > 0) s += fmt::format(" + {} {}", show_bytes(extra), extra_what);
  return s;
}

std::string MemoryEstimate::summary() const {
  return show_bytes(total());
}

MemoryEstimate Learner::memory(std::uint64_t deltas) const {
  const Impl& im = *impl_;
  MemoryEstimate m;
  m.params = im.model->num_params();
  std::uint64_t act = 0;  // activations per sample: the layers' outputs
  for (const auto& l : im.model->layers()) act += static_cast<std::uint64_t>(l.fan_out);
  m.threads = static_cast<std::uint64_t>(
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
  m.deltas = deltas;
  const std::uint64_t dim = static_cast<std::uint64_t>(im.data->input_dim());
  m.thread_extra = static_cast<std::uint64_t>(im.local.batch) * (dim + 2 * act) * 4 +
                   static_cast<std::uint64_t>(kEvalChunk) * 2 * act * 4;
  std::uint64_t samples = im.train_eval_samples;
  if (const auto* shape = dynamic_cast<const ShapeOnlyData*>(im.data.get())) {
    m.data = shape->shape().resident_bytes;
    m.thread_extra += shape->shape().buffer_bytes;
    if (shape->shape().train_samples > 0)
      samples = std::min<std::uint64_t>(samples, shape->shape().train_samples);
  }
  m.data += samples * (dim * 4 + 4) + static_cast<std::uint64_t>(im.num_clients) * 8;
  return m;
}

std::unique_ptr<Learner> Learner::build(const ParamView& root, std::uint64_t seed,
                                        const FlRegistries& regs) {
  auto impl = std::make_unique<Impl>();
  impl->seed = seed;
  impl->dry = root.dry();
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
  impl->train_eval_samples = static_cast<std::size_t>(root.table("rounds").integer(
      "train_eval_samples", 10000, Bounds::between(0, std::int64_t{1} << 32)));

  const ParamView ag = root.table("aggregator");
  impl->aggregator = regs.aggregators.get(ag, "type", "fedavg").factory(ag);
  const ParamView sv = root.table("server");
  impl->server = regs.server_optimizers.get(sv, "type", "sgd").factory(sv);
  impl->adversary = Adversary::build(root, seed, impl->num_clients, impl->data->input_dim(),
                                     impl->data->num_classes(), regs.attacks);
  {  // The rule's bound (Krum: n > 2f + 2) with the round size, checked before anything runs.
    const auto n = static_cast<std::size_t>(
        root.table("rounds").integer("per_round", 10, Bounds::at_least(1)));
    const double share = impl->adversary ? impl->adversary->malicious_fraction() : 0.0;
    const std::size_t f = impl->aggregator->configured_f(
        static_cast<std::size_t>(std::llround(share * static_cast<double>(n))));
    const std::string bad = impl->aggregator->check(n, f);
    if (!bad.empty()) ag.fail(ag.has("f") ? "f" : "type", bad);
  }
  std::size_t root_samples = 0;
  if (impl->aggregator->needs_root_update()) {
    root_samples = static_cast<std::size_t>(ag.integer("root_samples", 100, Bounds::at_least(1)));
    if (root_samples > impl->train_eval_samples)
      ag.fail("root_samples",
              fmt::format("= {} exceeds rounds.train_eval_samples = {}: the root data set is the "
                          "first root_samples rows of that sample of the clients' training data",
                          root_samples, impl->train_eval_samples));
  }
  if (impl->dry) return std::unique_ptr<Learner>(new Learner(std::move(impl)));

  impl->global.assign(impl->model->num_params(), 0.0f);
  impl->model->init(impl->global, core::mix_key(seed, core::purpose_id("model_init"), 0, 0));
  impl->snapshot = std::make_shared<const std::vector<float>>(impl->global);
  impl->build_train_eval(impl->train_eval_samples);
  if (impl->adversary) impl->adversary->prepare_success_sets(impl->data->test_set());
  if (root_samples > 0) {
    data::Dataset& R = impl->root;
    const std::size_t m = std::min(root_samples, impl->train_eval.size());
    R.name = "root";
    R.num_classes = impl->train_eval.num_classes;
    R.features = impl->train_eval.features.topRows(static_cast<Eigen::Index>(m));
    R.labels.assign(impl->train_eval.labels.begin(),
                    impl->train_eval.labels.begin() + static_cast<std::ptrdiff_t>(m));
  }
  return std::unique_ptr<Learner>(new Learner(std::move(impl)));
}

Learner::Learner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Learner::~Learner() = default;

bool Learner::dry() const {
  return impl_->dry;
}
std::uint64_t Learner::seed() const {
  return impl_->seed;
}
std::size_t Learner::num_clients() const {
  return impl_->num_clients;
}
std::size_t Learner::client_size(std::size_t client) const {
  return impl_->data->client_size(client);
}
std::size_t Learner::num_params() const {
  return impl_->model->num_params();
}
const nn::Model& Learner::model() const {
  return *impl_->model;
}
const LocalOptions& Learner::local() const {
  return impl_->local;
}
double Learner::flops_per_sample() const {
  return impl_->flops_per_sample;
}
std::span<const float> Learner::global() const {
  return impl_->global;
}
const Snapshot& Learner::snapshot() const {
  return impl_->snapshot;
}
std::int64_t Learner::version() const {
  return impl_->version;
}
void Learner::train(const std::vector<Task>& tasks, const AfterTask& after,
                    const AfterTask& stream) {
  if (impl_->dry) throw std::logic_error("Learner::train: built from a dry (validation) document");
  impl_->train_batch(tasks, after, stream);
}
void Learner::aggregate_slots(std::span<const std::size_t> slots, std::span<const double> weights,
                              std::vector<float>& out, bool record) {
  Impl& im = *impl_;
  std::vector<std::size_t> clients(slots.size());
  for (std::size_t j = 0; j < slots.size(); ++j) clients[j] = im.slot_clients.at(slots[j]);
  im.aggregate_slots(slots, clients, weights, out, record);
}
const Adversary* Learner::adversary() const {
  return impl_->adversary.get();
}
std::span<const std::size_t> Learner::rewritten() const {
  return impl_->rewritten;
}
bool Learner::malicious(std::size_t slot) const {
  return impl_->malicious.at(slot) != 0;
}
int Learner::role(std::size_t client) const {
  return impl_->adversary ? impl_->adversary->role(client) : 0;
}
std::span<const float> Learner::delta(std::size_t i) const {
  return impl_->deltas.at(i);
}
std::span<float> Learner::mutable_delta(std::size_t i) {
  return impl_->deltas.at(i);
}
const TaskResult& Learner::result(std::size_t i) const {
  return impl_->results.at(i);
}
void Learner::aggregate(const std::vector<Task>& tasks, const std::vector<double>& weights,
                        std::vector<float>& out) {
  impl_->aggregate_into(tasks, weights, out);
}
void Learner::aggregate_and_apply(const std::vector<Task>& tasks,
                                  const std::vector<double>& weights) {
  impl_->aggregate_into(tasks, weights, impl_->aggregate);
  impl_->apply(impl_->aggregate);
}
void Learner::apply(std::span<const float> aggregate) {
  if (aggregate.data() != impl_->aggregate.data())
    impl_->aggregate.assign(aggregate.begin(), aggregate.end());
  impl_->apply(impl_->aggregate);
}
std::span<const float> Learner::last_aggregate() const {
  return impl_->aggregate;
}
Learner::GlobalState Learner::global_state() const {
  return {impl_->snapshot, impl_->previous, impl_->version};
}
void Learner::restore_global(const GlobalState& s) {
  Impl& im = *impl_;
  if (!s.params) throw std::logic_error("Learner::restore_global: empty state");
  im.global.assign(s.params->begin(), s.params->end());
  im.snapshot = s.params;
  im.previous = s.previous;
  im.version = s.version;
}
nn::EvalResult Learner::evaluate(std::span<const float> params, const data::Dataset& set) {
  return impl_->evaluate(params, set);
}
const data::Dataset& Learner::test_set() const {
  return impl_->data->test_set();
}
const data::Dataset& Learner::train_eval() const {
  return impl_->train_eval;
}

// The attack columns (issue 10 "Metrics"): updates of active attackers among the round's tasks;
// of the recorded aggregation, how many malicious updates entered (trust >= 0.5) and the
// detection rates against the ground-truth roles (flagged = trust < 0.5); the success rate of
// the first attack that has one, on eval rounds.
void Learner::add_attack_columns(core::RoundSummary& row, const std::vector<Task>& tasks,
                                 bool evaluate, std::span<const std::size_t> slots) {
  Impl& im = *impl_;
  std::int64_t submitted = 0;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const std::size_t slot = slots.empty() ? i : slots[i];
    submitted += slot < im.malicious.size() && im.malicious[slot];
  }
  double tpr = kNaN, fpr = kNaN;
  std::int64_t included = 0;
  if (im.detection.valid) {
    std::int64_t pos = 0, neg = 0, tp = 0, fp = 0;
    for (std::size_t j = 0; j < im.detection.trust.size(); ++j) {
      const bool flagged = im.detection.trust[j] < 0.5;
      if (im.detection.malicious[j]) {
        ++pos;
        tp += flagged;
        included += !flagged;
      } else {
        ++neg;
        fp += flagged;
      }
    }
    if (pos > 0) tpr = static_cast<double>(tp) / static_cast<double>(pos);
    if (neg > 0) fpr = static_cast<double>(fp) / static_cast<double>(neg);
  }
  row.add("malicious_submitted", submitted);
  row.add("malicious_included", included);
  row.add("detection_tpr", tpr);
  row.add("detection_fpr", fpr);
  double asr = kNaN;
  const std::size_t k = im.adversary->success_attack();
  if (evaluate && k < im.adversary->num_attacks()) {
    const nn::EvalResult e = im.evaluate(im.global, im.adversary->success_set(k));
    asr = e.count ? static_cast<double>(e.correct) / e.count : kNaN;
  }
  row.add("attack_success_rate", asr);
}

core::RoundSummary Learner::make_row(std::int64_t r, double sim_time_s, double duration_s,
                                     const std::vector<Task>& tasks, bool evaluate,
                                     std::span<const std::size_t> slots) {
  Impl& im = *impl_;
  core::RoundSummary row;
  row.add("round", r);
  row.add("sim_time_s", sim_time_s);
  double acc = kNaN, loss = kNaN, train_acc = kNaN, train_loss = kNaN;
  if (evaluate) {
    const nn::EvalResult e = im.evaluate(im.global, im.data->test_set());
    acc = e.count ? static_cast<double>(e.correct) / e.count : kNaN;
    loss = e.count ? e.loss_sum / e.count : kNaN;
    if (im.train_eval.size() > 0) {
      const nn::EvalResult g = im.evaluate(im.global, im.train_eval);
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
    const TaskResult& res = im.results[slots.empty() ? i : slots[i]];
    const double w = static_cast<double>(res.samples);
    if (!std::isnan(res.train.mean_loss)) {  // free-riders do not train: no loss
      loss_w += w * res.train.mean_loss;
      wsum += w;
    }
    norm += res.norm;
    stale += tasks[i].staleness;
    examples += res.train.examples;
  }
  const double k = static_cast<double>(tasks.size());
  row.add("train_loss", wsum > 0 ? loss_w / wsum : kNaN);
  row.add("round_duration_s", duration_s);
  row.add("update_norm_mean", k > 0 ? norm / k : kNaN);
  row.add("mean_staleness", k > 0 ? stale / k : kNaN);
  row.add("included", static_cast<std::int64_t>(tasks.size()));
  row.add("examples", examples);
  row.add("model_version", im.version);
  if (im.adversary) add_attack_columns(row, tasks, evaluate, slots);
  return row;
}

}  // namespace ledgerfl::fl
