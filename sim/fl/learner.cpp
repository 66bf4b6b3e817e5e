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
  };
  tbb::enumerable_thread_specific<ThreadScratch> scratch;
  std::vector<std::vector<float>> deltas;  // one slot per task of a batch, reused
  std::vector<TaskResult> results;
  std::vector<std::size_t> schedule;  // execution order of a batch's tasks
  std::vector<std::size_t> sizes;     // their clients' sample counts
  std::vector<float> aggregate;
  data::Dataset train_eval;  // fixed sample of the union of the clients' training data

  void train_batch(const std::vector<Task>& tasks, const AfterTask& after,
                   const AfterTask& stream) {
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
    core::parallel_for(tasks.size(), [&](std::size_t k) {
      ThreadScratch& s = scratch.local();
      {
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
        nn::DeltaChunkFn chunk;
        if (stream) chunk = [&stream, i](std::span<const float> c) { stream(i, c); };
        r.train = nn::train_local_delta(*model, delta, start, view, o, shuffle, s.train, chunk);
        r.samples = view.rows.size();
        r.norm = std::sqrt(r.train.delta_sq_norm);
        if (after) after(i, delta);
      }
    });
  }

  void aggregate_into(const std::vector<Task>& tasks, const std::vector<double>& weights,
                      std::vector<float>& out) {
    std::vector<ClientUpdate> updates(tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i)
      updates[i] = {tasks[i].client, weights[i], deltas[i]};
    out.assign(global.size(), 0.0f);
    aggregator->aggregate(updates, out);
  }

  void apply(std::span<const float> agg) {
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
  if (impl->dry) return std::unique_ptr<Learner>(new Learner(std::move(impl)));

  impl->global.assign(impl->model->num_params(), 0.0f);
  impl->model->init(impl->global, core::mix_key(seed, core::purpose_id("model_init"), 0, 0));
  impl->snapshot = std::make_shared<const std::vector<float>>(impl->global);
  impl->build_train_eval(impl->train_eval_samples);
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
                              std::vector<float>& out) {
  Impl& im = *impl_;
  std::vector<ClientUpdate> updates(slots.size());
  for (std::size_t j = 0; j < slots.size(); ++j)
    updates[j] = {slots[j], weights[j], im.deltas.at(slots[j])};
  out.assign(im.global.size(), 0.0f);
  im.aggregator->aggregate(updates, out);
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
nn::EvalResult Learner::evaluate(std::span<const float> params, const data::Dataset& set) {
  return impl_->evaluate(params, set);
}
const data::Dataset& Learner::test_set() const {
  return impl_->data->test_set();
}
const data::Dataset& Learner::train_eval() const {
  return impl_->train_eval;
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
    loss_w += w * res.train.mean_loss;
    wsum += w;
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
  return row;
}

}  // namespace ledgerfl::fl
