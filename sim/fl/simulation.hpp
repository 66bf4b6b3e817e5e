// A federated-learning run inside the event engine: client selection, device timing, deadlines,
// synchronous rounds and buffered asynchronous aggregation (FedBuff), server optimizers, metrics.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/core/record.hpp"
#include "sim/core/time.hpp"
#include "sim/fl/registries.hpp"

namespace ledgerfl::fl {

// [rounds]: how the federation is orchestrated.
struct RoundOptions {
  enum class Mode { kSync, kAsync };
  Mode mode = Mode::kSync;
  std::int64_t rounds = 10;     // [simulation] rounds: sync rounds or async aggregations
  std::size_t per_round = 10;   // K: updates aggregated per round (sync) / buffer size (async)
  double over_selection = 0.0;  // sync: select ceil(K (1 + x)) clients, keep the first K
  // sync: a client that cannot finish its local work by the deadline is dropped ("drop", the
  // FedAvg behaviour) or does as many local steps as fit and reports at the deadline ("partial",
  // the variable local work of FedProx, Li et al. 2020, sec. 5.2).
  bool partial_work = false;
  // sync, rounds.stragglers = "fedprox": the systems heterogeneity of Li et al. 2020, sec. 5.2.
  // Each round a random fraction of the selected devices are stragglers (exactly
  // floor(f n) + Bernoulli(frac(f n)) of the n selected devices that train, so the expected
  // fraction is f and it is exact when f n is whole, as in the paper's 0/50/90% of 10); each
  // straggler draws its local epochs uniformly from 1..E. Policy "keep" (FedProx) aggregates
  // their partial work, "drop" (FedAvg) discards them. Time stays physical: a straggler doing
  // e epochs takes the time of e epochs; the round closes when every kept update has arrived
  // (the server does not wait for dropped stragglers), and `deadline` stays a hard cap.
  bool fedprox_stragglers = false;
  double straggler_fraction = 0.0;  // f in [0, 1]
  bool keep_stragglers = true;      // "keep" (FedProx) or "drop" (FedAvg)
  // Global objective: the global model is evaluated on a fixed sample of the union of the
  // clients' training data (every sample if the union is smaller), drawn once from a keyed
  // stream; 0 = off (global_train_* are NaN).
  std::size_t train_eval_samples = 10000;
  core::SimTime deadline = core::SimTime::s(600);  // sync: round closes at the latest here;
                                                   // async: a silent client's slot frees then
  std::int64_t eval_every = 1;      // evaluate on the test set every n rounds (and the last)
  std::size_t concurrency = 0;      // async: clients training at once (0 = 2 K)
  double staleness_exponent = 0.5;  // async: weight (1 + s)^-a (Nguyen et al. 2022, FedBuff)
  std::int64_t max_staleness = 0;   // async: drop updates staler than this (0 = never)
};

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

// The straggler draw of rounds.stragglers = "fedprox" for one round (keyed streams
// ("straggler", 0, round) for who and ("straggler_epochs", client, round) for how much, so
// it shifts no other draw). `training` are the round's training clients in id order; the
// result holds the positions into it of the stragglers (sorted) and each one's local epochs,
// uniform on 1..epochs. Public so tests can check its distribution directly.
struct StragglerDraw {
  std::vector<std::size_t> positions;
  std::vector<int> epochs;
};
StragglerDraw draw_stragglers(std::uint64_t seed, std::int64_t round,
                              std::span<const std::size_t> training, double fraction, int epochs);

// The memory a run needs, estimated before anything large is allocated (DESIGN.md: memory grows
// with the round, not the population). With P parameters (4-byte floats), T worker threads and
// K = rounds.per_round:
//   P x 4 B x (3 + D + 3 T)      global model, its snapshot and the aggregate; D deltas (K, plus
//                                the in-flight start snapshots in async mode: concurrency);
//                                per thread the trained copy, gradient and momentum
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
  std::uint64_t total() const;
  std::string formula() const;  // the terms above with this scenario's numbers
  std::string summary() const;  // "1.2 GiB"
};

class FlSimulation {
 public:
  // Reads [simulation] rounds, [clients], [data], [model], [training], [rounds], [aggregator],
  // [server], [devices] — every parameter it will use — and loads the data. On a dry document
  // (scenario::ParamView::dry) it checks everything and estimates memory() without loading or
  // allocating; such a simulation cannot run.
  static std::unique_ptr<FlSimulation> build(const scenario::ParamView& root, std::uint64_t seed,
                                             const FlRegistries& regs);
  ~FlSimulation();
  // Runs every round, one /rounds row each, flushing the sink every round.
  void run(core::RunSink& sink);
  std::int64_t total_rounds() const;
  std::size_t num_params() const;
  const MemoryEstimate& memory() const;
  const nn::Model& model() const;
  std::span<const float> global_params() const;  // the current global model

  struct Impl;

 private:
  explicit FlSimulation(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledgerfl::fl
