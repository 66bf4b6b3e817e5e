// A federated-learning run inside the event engine: client selection, device timing, deadlines,
// synchronous rounds and buffered asynchronous aggregation (FedBuff), server optimizers, metrics.
#pragma once

#include <cstdint>
#include <memory>

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

class FlSimulation {
 public:
  // Reads [simulation] rounds, [clients], [data], [model], [training], [rounds], [aggregator],
  // [server], [devices] — every parameter it will use — and loads the data.
  static std::unique_ptr<FlSimulation> build(const scenario::ParamView& root, std::uint64_t seed,
                                             const FlRegistries& regs);
  ~FlSimulation();
  // Runs every round, one /rounds row each, flushing the sink every round.
  void run(core::RunSink& sink);
  std::int64_t total_rounds() const;
  std::size_t num_params() const;
  const nn::Model& model() const;

  struct Impl;

 private:
  explicit FlSimulation(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledgerfl::fl
