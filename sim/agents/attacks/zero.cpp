// zero: the plain free-rider (Lin et al. 2019; Fraboni et al. 2021's "plain" free-rider, which
// returns the global model unchanged): no training, an all-zero update.
#include <algorithm>

#include "sim/agents/attacks/builtin.hpp"

namespace ledgerfl::agents::attacks {

namespace {
class Zero final : public ClientAttack {
 public:
  std::string name() const override { return "zero"; }
  bool trains() const override { return false; }
  void craft(const CraftInput&, std::span<const std::span<float>> mine) const override {
    for (const auto& m : mine) std::fill(m.begin(), m.end(), 0.0f);
  }
};
}  // namespace

void register_zero(AttackRegistry& reg) {
  reg.add({"zero", "free-rider: does not train, submits an all-zero update", {}},
          [](const scenario::ParamView&, int, int) { return std::make_unique<Zero>(); });
}

}  // namespace ledgerfl::agents::attacks
