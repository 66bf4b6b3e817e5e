// The learner: everything of federated learning that does not depend on time or on who
// coordinates — the data and its partition, the model, local training of a batch of tasks in
// parallel, aggregation, the server optimizer, evaluation. Coordinators (the trusted `server` in
// sim/fl/server.hpp, the learning `contract` in sim/contract) decide who trains when, from which
// model version, and hand the learner batches of tasks (DESIGN.md "How a round flows", step 3).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/nn/model.hpp"
#include "models/nn/trainer.hpp"
#include "sim/core/record.hpp"
#include "sim/core/rng.hpp"
#include "sim/fl/registries.hpp"

namespace ledgerfl::data {
class FederatedData;
struct Dataset;
}  // namespace ledgerfl::data

namespace ledgerfl::fl {

class Adversary;

// [training]: local training of every client.
struct LocalOptions {
  float lr = 0.05f, momentum = 0.0f, weight_decay = 0.0f, prox_mu = 0.0f;
  int batch = 32, epochs = 1;
  std::int64_t steps = 0;
  enum class Schedule { kConstant, kStep };
  Schedule schedule = Schedule::kConstant;
  double gamma = 0.5;             // step decay factor
  std::int64_t step_rounds = 10;  // decay every this many rounds
  float lr_at(std::int64_t round) const;
};

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

// The memory a run needs, estimated before anything large is allocated (DESIGN.md: memory grows
// with the round, not the population). With P parameters (4-byte floats), T worker threads and
// D per-client deltas held at once (the coordinator says how many):
//   P x 4 B x (3 + D + 3 T)      global model, its snapshot and the aggregate; D deltas; per
//                                thread the trained copy, gradient and momentum
// + T x (batch x (dim + 2 A) + 500 x 2 A) x 4 B   per-thread minibatch, activations and
//                                evaluation workspace (A = the layers' outputs per sample),
//                                plus a generated client's samples (synthetic size_max rows)
// + data                         the shared data set (train + test, features as float, labels
//                                and partition rows) or the generated test set, the
//                                train_eval sample, and 8 B of state per registered client.
// It is a lower bound on the real peak (allocator overhead, robust aggregators' pairwise
// distances and HDF5 buffers are not counted); `validate` prints it and refuses a scenario
// whose estimate exceeds the machine's physical memory.
struct MemoryEstimate {
  std::uint64_t params = 0, deltas = 0, threads = 0, thread_extra = 0, data = 0;
  std::uint64_t extra = 0;  // what the coordinator adds (e.g. the contract's ledger)
  std::string extra_what;   // its one-line description
  std::uint64_t total() const;
  std::string formula() const;  // the terms above with this scenario's numbers
  std::string summary() const;  // "1.2 GiB"
};
std::string show_bytes(std::uint64_t b);
std::uint64_t machine_memory_bytes();

class Learner {
 public:
  // Reads [clients] count, [data], [model], [training], [aggregator], [server] and
  // rounds.train_eval_samples — every key it uses — and loads the data. On a dry document
  // (scenario::ParamView::dry) it checks everything without loading or allocating; such a
  // learner can only estimate memory.
  static std::unique_ptr<Learner> build(const scenario::ParamView& root, std::uint64_t seed,
                                        const FlRegistries& regs);
  ~Learner();

  bool dry() const;
  std::uint64_t seed() const;
  std::size_t num_clients() const;
  std::size_t client_size(std::size_t client) const;
  std::size_t num_params() const;
  const nn::Model& model() const;
  const LocalOptions& local() const;
  double flops_per_sample() const;

  // The current global model, the immutable snapshot tasks start from, and its version
  // (0 = the initial model; +1 per applied aggregate).
  std::span<const float> global() const;
  const Snapshot& snapshot() const;
  std::int64_t version() const;

  // Trains every task (one TBB task per client, largest first; each writes only its own slot,
  // so the result does not depend on the thread count). delta(i) / result(i) hold task i's
  // update until the next train().
  // `after(i, delta)`, if given, runs inside task i's parallel body right after its delta is
  // written (while it is in cache): the contract hashes the update there.
  // `stream(i, chunk)`, if given, receives task i's delta as it is written, in consecutive
  // chunks of nn::kDeltaChunk floats, each while it is in L1 (the contract hashes it there).
  using AfterTask = std::function<void(std::size_t, std::span<const float>)>;
  void train(const std::vector<Task>& tasks, const AfterTask& after = {},
             const AfterTask& stream = {});
  std::span<const float> delta(std::size_t i) const;
  const TaskResult& result(std::size_t i) const;
  std::span<float> mutable_delta(std::size_t i);  // update transforms (attacks) rewrite it

  // Aggregates the deltas of tasks[i] with weights[i] into `out` (the configured aggregator).
  void aggregate(const std::vector<Task>& tasks, const std::vector<double>& weights,
                 std::vector<float>& out);
  // Aggregates the deltas in slots[j] (of the last train()) with weights[j] into `out`.
  // `record`: this is the round's aggregation (its trust report gives the detection metrics of
  // make_row); subset aggregations (contribution scores) leave it false.
  void aggregate_slots(std::span<const std::size_t> slots, std::span<const double> weights,
                       std::vector<float>& out, bool record = false);
  // Aggregates and applies the result with the server optimizer; a new version.
  void aggregate_and_apply(const std::vector<Task>& tasks, const std::vector<double>& weights);
  // Applies a given aggregate with the server optimizer; a new version.
  void apply(std::span<const float> aggregate);
  std::span<const float> last_aggregate() const;
  // The global model's state as of a version, for a coordinator that reverts applied versions
  // (the contract under execute_on = "head" on a reorg): its parameters (the immutable
  // snapshot, shared, not copied), version and the previous snapshot. The server optimizer's
  // own state is not in it: that coordinator refuses stateful server optimizers.
  struct GlobalState {
    Snapshot params, previous;
    std::int64_t version = 0;
  };
  GlobalState global_state() const;
  void restore_global(const GlobalState& s);

  // Evaluations of the global model, or of any parameter vector (in fixed chunks, so sums are
  // the same for any thread count).
  nn::EvalResult evaluate(std::span<const float> params, const data::Dataset& set);
  const data::Dataset& test_set() const;
  const data::Dataset& train_eval() const;  // empty when rounds.train_eval_samples = 0

  // The learning columns of a /rounds row: round, sim_time_s, test and global-train metrics
  // (when `evaluate`), train_loss, round_duration_s, update norms, staleness, included,
  // examples, model_version — over `tasks`, whose results are in result(i).
  // With `slots`, tasks[j]'s result is result(slots[j]) (a subset of the last train()).
  core::RoundSummary make_row(std::int64_t round, double sim_time_s, double duration_s,
                              const std::vector<Task>& tasks, bool evaluate,
                              std::span<const std::size_t> slots = {});

  // Attacks: the adversary (nullptr: none); the slots of the last train() that the commit phase
  // rewrote after the per-task hooks ran (their hashes must be recomputed); whether slot i came
  // from an active attacker; a client's role (0 honest, k + 1 attack k).
  const Adversary* adversary() const;
  std::span<const std::size_t> rewritten() const;
  bool malicious(std::size_t slot) const;
  int role(std::size_t client) const;

  // The estimate with `deltas` update vectors held at once.
  MemoryEstimate memory(std::uint64_t deltas) const;

  struct Impl;

 private:
  explicit Learner(std::unique_ptr<Impl> impl);
  void add_attack_columns(core::RoundSummary& row, const std::vector<Task>& tasks, bool evaluate,
                          std::span<const std::size_t> slots);
  std::unique_ptr<Impl> impl_;
};

// Floyd's algorithm: m distinct values from [0, n), O(m) memory, returned sorted.
std::vector<std::size_t> sample_without_replacement(std::size_t n, std::size_t m, core::Rng& rng);

}  // namespace ledgerfl::fl
