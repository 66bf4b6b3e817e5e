// scaling: the trained update multiplied by `factor` (the "boosting" of Bhagoji et al. 2019,
// "Analyzing federated learning through an adversarial lens", Sec. 3, without a backdoor).
#include "sim/agents/attacks/builtin.hpp"

namespace ledgerfl::agents::attacks {

namespace {
class Scaling final : public ClientAttack {
 public:
  explicit Scaling(float f) : f_(f) {}
  std::string name() const override { return "scaling"; }
  void craft(const CraftInput&, std::span<const std::span<float>> mine) const override {
    for (const auto& m : mine)
      for (float& x : m) x *= f_;
  }

 private:
  float f_;
};
}  // namespace

void register_scaling(AttackRegistry& reg) {
  reg.add({"scaling",
           "model poisoning: submit factor x the trained update (Bhagoji et al. 2019 boosting)",
           {{"factor", "float", "10.0", "", "the multiplier"}}},
          [](const scenario::ParamView& p, int, int) {
            return std::make_unique<Scaling>(static_cast<float>(p.number("factor", 10.0)));
          });
}

}  // namespace ledgerfl::agents::attacks
