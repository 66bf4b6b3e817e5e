// stale: a free-rider that does not train and resubmits the global model's last movement,
// global - previous_global, exactly (zeros before the first aggregate): the noiseless form of
// Lin et al. 2019's delta weights attack (see delta_weights.cpp for the noisy, scaled one).
#include "sim/agents/attacks/builtin.hpp"
#include "sim/agents/attacks/free_rider.hpp"

namespace ledgerfl::agents::attacks {

namespace {
class Stale final : public ClientAttack {
 public:
  std::string name() const override { return "stale"; }
  bool trains() const override { return false; }
  void craft(const CraftInput& in, std::span<const std::span<float>> mine) const override {
    for (const auto& m : mine) write_global_movement(in, m);
  }
};
}  // namespace

void register_stale(AttackRegistry& reg) {
  reg.add({"stale",
           "free-rider: does not train, resubmits the last global movement global - "
           "previous_global (zeros before the first aggregate)",
           {}},
          [](const scenario::ParamView&, int, int) { return std::make_unique<Stale>(); });
}

}  // namespace ledgerfl::agents::attacks
