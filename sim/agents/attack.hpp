// Client attacks: what an adversarial identity does to its training data (data poisoning) and to
// the update it submits (model poisoning, free-riding). Each attack is one file under
// sim/agents/attacks/, registered by name in the attack registry (`[[attack]] type = "..."`),
// and cites its paper. Attacks are pure with respect to the simulator: they see spans of floats
// and rows of data, never time, chains or coordinators, so they work under every coordinator.
//
// How a round uses them (DESIGN.md "How a round flows", step 3; fl::Adversary drives this):
//   1. Local training. An identity of an attack with poisons_data() trains on a private copy of
//      its rows rewritten by poison() (label flip, backdoor trigger); one with !trains() does not
//      train (its slot starts as zeros).
//   2. The commit phase, sequential, after every task of the round has trained: craft() is
//      called once per attack with all of its identities' updates of the round, and rewrites
//      them. Its knowledge is the round's benign updates (omniscient) or only its own trained
//      updates (own data only), as the scenario says.
//   3. Evaluation: success_set() gives the inputs whose classification as `target` measures the
//      attack (attack_success_rate).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/data/dataset.hpp"
#include "sim/core/rng.hpp"
#include "sim/scenario/registry.hpp"

namespace ledgerfl::agents {

// What craft() may read. Spans stay valid during the call only.
struct CraftInput {
  std::int64_t round = 0;
  std::uint64_t seed = 0;                  // key any randomness: core::Rng(seed, "<attack>", ...)
  std::span<const float> global;           // w_t, the model the round trained from
  std::span<const float> previous_global;  // w_{t-1}; empty before the first aggregate
  std::size_t n = 0;                       // updates in the round, benign + malicious
  std::size_t num_malicious = 0;           // this attack's updates in the round (= mine.size())
  // The benign updates the attacker knows (omniscient: all of the round's; own data only: the
  // honest updates its identities trained before crafting, i.e. a copy of `mine` on entry).
  std::span<const std::span<const float>> known;
};

class ClientAttack {
 public:
  virtual ~ClientAttack() = default;
  virtual std::string name() const = 0;

  // Whether the identity trains (on poisoned data if poisons_data()) before crafting.
  // Free-riders do not: their slot is zero-filled and craft() writes what they submit.
  virtual bool trains() const { return true; }

  // Data poisoning: rewrite the identity's private copy of its training rows in place
  // (features: rows x dim, row-major; labels: rows). `identity` is its index among this
  // attack's identities (0..num_identities-1): DBA gives each a part of the trigger.
  virtual bool poisons_data() const { return false; }
  virtual void poison(std::size_t identity, std::size_t num_identities, std::int64_t round,
                      std::span<float> features, int dim, std::span<std::int32_t> labels,
                      core::Rng& rng) const {
    (void)identity, (void)num_identities, (void)round, (void)features, (void)dim, (void)labels,
        (void)rng;
  }

  // Model poisoning: rewrite this attack's updates of the round. On entry mine[k] holds the
  // update identity k trained (zeros if !trains()). Default: submit them unchanged.
  virtual void craft(const CraftInput& in, std::span<const std::span<float>> mine) const {
    (void)in, (void)mine;
  }

  // The attack's success on the test set: fills `out` with the inputs to evaluate (for a
  // backdoor: triggered test inputs whose true label is not the target; for a label flip: the
  // source-class inputs) and returns true; `out.labels` hold the attacker's target labels, so
  // the accuracy on `out` is the attack success rate. false: the attack has no such metric.
  virtual bool success_set(const data::Dataset& test, data::Dataset& out) const {
    (void)test, (void)out;
    return false;
  }
};

using AttackFactory = std::function<std::unique_ptr<ClientAttack>(const scenario::ParamView& params,
                                                                  int input_dim, int classes)>;
using AttackRegistry = scenario::Registry<AttackFactory>;
void register_builtin_attacks(AttackRegistry& reg);

}  // namespace ledgerfl::agents
