// A coordinator decides who trains when, from which model version, and what becomes of the
// updates; the learner (sim/fl/learner.hpp) does the math. Registry `[coordinator] type`:
// "server" (the trusted central server of classic FL, sim/fl/server.hpp) or "contract" (the
// learning contract executed by validators, sim/contract). The registry itself lives in
// sim/world, the composition root, because coordinators need parts of every layer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/record.hpp"
#include "sim/fl/learner.hpp"

namespace ledgerfl::fl {

class Coordinator {
 public:
  virtual ~Coordinator() = default;
  virtual std::string_view name() const = 0;
  // Rounds the run will record (one /rounds row each); 0 = unknown.
  virtual std::int64_t total_rounds() const = 0;
  // Runs every round, one /rounds row each, flushing the sink every round.
  virtual void run(core::RunSink& sink) = 0;
  // Memory the whole run needs (learner and coordinator), for `validate`.
  virtual MemoryEstimate memory() const = 0;
  // Checks that the run can make progress (e.g. a deadline some client can meet); throws
  // scenario::InputError at the key. Called after the memory check, so a scenario too large
  // for the machine is told that first.
  virtual void check_feasible(const scenario::ParamView& /*root*/) const {}
  // Lines printed after a run (economic and chain summaries); none by default.
  virtual std::vector<std::string> summary_lines() const { return {}; }
  virtual Learner& learner() = 0;
};

}  // namespace ledgerfl::fl
