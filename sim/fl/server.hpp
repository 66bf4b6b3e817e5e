// The `server` coordinator: the trusted central server of classic federated learning —
// client selection, device timing, deadlines, synchronous rounds (FedAvg, McMahan et al. 2017;
// FedProx systems heterogeneity, Li et al. 2020) and buffered asynchronous aggregation
// (FedBuff, Nguyen et al. 2022). The baseline against which the contract's cost is measured.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "sim/agents/device.hpp"
#include "sim/core/engine.hpp"
#include "sim/core/time.hpp"
#include "sim/fl/coordinator.hpp"

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
  double straggler_fraction = 0.0;                 // f in [0, 1]
  bool keep_stragglers = true;                     // "keep" (FedProx) or "drop" (FedAvg)
  core::SimTime deadline = core::SimTime::s(600);  // sync: round closes at the latest here;
                                                   // async: a silent client's slot frees then
  std::int64_t eval_every = 1;      // evaluate on the test set every n rounds (and the last)
  std::size_t concurrency = 0;      // async: clients training at once (0 = 2 K)
  double staleness_exponent = 0.5;  // async: weight (1 + s)^-a (Nguyen et al. 2022, FedBuff)
  std::int64_t max_staleness = 0;   // async: drop updates staler than this (0 = never)
  bool eval_round(std::int64_t r) const {
    return r == rounds || (eval_every > 0 && r % eval_every == 0);
  }
};

// Reads [simulation] rounds and [rounds] (all but train_eval_samples, the learner's) for a
// learner of `clients` clients and `local` training options. Shared by every coordinator that
// runs rounds of K updates.
RoundOptions read_round_options(const scenario::ParamView& root, std::size_t clients,
                                const LocalOptions& local);

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

class ServerCoordinator final : public Coordinator {
 public:
  // Reads [simulation] rounds, [rounds] and [devices] (every key it uses).
  ServerCoordinator(const scenario::ParamView& root, std::shared_ptr<Learner> learner,
                    const agents::DistributionRegistry& distributions);
  ~ServerCoordinator() override;
  std::string_view name() const override { return "server"; }
  std::int64_t total_rounds() const override { return opts_.rounds; }
  void run(core::RunSink& sink) override;
  MemoryEstimate memory() const override;
  void check_feasible(const scenario::ParamView& root) const override {
    check_deadline(root.table("rounds"));
  }
  Learner& learner() override { return *learner_; }
  const RoundOptions& options() const { return opts_; }

 private:
  struct ClientTiming;
  ClientTiming client_timing(std::size_t client, std::size_t samples) const;
  void run_sync(core::Engine& engine, core::RunSink& sink);
  void run_async(core::Engine& engine, core::RunSink& sink);
  void check_deadline(const scenario::ParamView& rp) const;

  std::shared_ptr<Learner> learner_;
  RoundOptions opts_;
  std::unique_ptr<agents::Population> population_;
};

// Builds a learner and the server coordinator over it from a scenario (tests, benchmarks).
std::unique_ptr<ServerCoordinator> build_server(const scenario::ParamView& root, std::uint64_t seed,
                                                const FlRegistries& regs);

}  // namespace ledgerfl::fl
