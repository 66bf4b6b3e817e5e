// sign_flip: the submitted update is -s times the trained one (the "sign flipping" attack of
// Damaskinos et al. 2018 and Li et al. 2019, RSA; s = 1 gives the reversed gradient).
#include "sim/agents/attacks/builtin.hpp"

namespace ledgerfl::agents::attacks {

namespace {
class SignFlip final : public ClientAttack {
 public:
  explicit SignFlip(float s) : s_(s) {}
  std::string name() const override { return "sign_flip"; }
  void craft(const CraftInput&, std::span<const std::span<float>> mine) const override {
    for (const auto& m : mine)
      for (float& x : m) x *= -s_;
  }

 private:
  float s_;
};
}  // namespace

void register_sign_flip(AttackRegistry& reg) {
  reg.add({"sign_flip",
           "model poisoning: submit -scale x the trained update",
           {{"scale", "float", "1.0", "", "s in -s * delta (> 0)"}}},
          [](const scenario::ParamView& p, int, int) {
            return std::make_unique<SignFlip>(
                static_cast<float>(p.number("scale", 1.0, scenario::Bounds::positive())));
          });
}

}  // namespace ledgerfl::agents::attacks
