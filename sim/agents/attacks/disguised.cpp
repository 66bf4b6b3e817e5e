// disguised: Fraboni, Vidal & Lorenzi 2021, "Free-rider attacks on model aggregation in
// federated learning" (AISTATS), Sec. 4: the disguised free-rider returns the global model plus
// Gaussian noise whose standard deviation decays as sigma * t^(-gamma), t the round, so that its
// updates look like (shrinking) SGD updates. As a delta: N(0, (sigma t^-gamma)^2) per coordinate;
// rounds count from 1 (round 0, if ever passed, is taken as 1). Identity k draws from Rng(seed,
// "disguised", k, round).
#include <cmath>

#include "sim/agents/attacks/builtin.hpp"

namespace ledgerfl::agents::attacks {

namespace {
class Disguised final : public ClientAttack {
 public:
  Disguised(double sigma, double gamma) : sigma_(sigma), gamma_(gamma) {}
  std::string name() const override { return "disguised"; }
  bool trains() const override { return false; }
  void craft(const CraftInput& in, std::span<const std::span<float>> mine) const override {
    const double t = static_cast<double>(std::max<std::int64_t>(in.round, 1));
    const double sd = sigma_ * std::pow(t, -gamma_);
    for (std::size_t k = 0; k < mine.size(); ++k) {
      core::Rng rng(in.seed, "disguised", k, static_cast<std::uint64_t>(in.round));
      for (float& x : mine[k]) x = static_cast<float>(sd * rng.normal());
    }
  }

 private:
  double sigma_, gamma_;
};
}  // namespace

void register_disguised(AttackRegistry& reg) {
  reg.add({"disguised",
           "disguised free-rider (Fraboni et al. 2021): N(0, (sigma t^-gamma)^2) noise, t = round",
           {{"sigma", "float", "0.01", "", "noise standard deviation at round 1"},
            {"gamma", "float", "1.0", "", "decay exponent of the noise over rounds (>= 0)"}}},
          [](const scenario::ParamView& p, int, int) {
            const double sigma = p.number("sigma", 0.01, scenario::Bounds::non_negative());
            const double gamma = p.number("gamma", 1.0, scenario::Bounds::non_negative());
            return std::make_unique<Disguised>(sigma, gamma);
          });
}

}  // namespace ledgerfl::agents::attacks
