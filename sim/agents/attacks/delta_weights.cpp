// delta_weights: Lin, Du & Liu 2019, "Free-riders in federated learning: attacks and defenses"
// (arXiv:1911.12560), Sec. III: the delta weights attack submits the difference of the two last
// global models it received, which resembles a benign update once training has started; their
// stronger variant adds small Gaussian noise so that the fake update's statistics match benign
// ones and the copies differ. We submit scale * (global - previous_global) + N(0, sigma^2) per
// coordinate (identity k: Rng(seed, "delta_weights", k, round)); `stale` is the same movement
// with no noise and no scale. Zeros plus noise before the first aggregate.
#include "sim/agents/attacks/builtin.hpp"
#include "sim/agents/attacks/free_rider.hpp"

namespace ledgerfl::agents::attacks {

namespace {
class DeltaWeights final : public ClientAttack {
 public:
  DeltaWeights(float scale, double sigma) : scale_(scale), sigma_(sigma) {}
  std::string name() const override { return "delta_weights"; }
  bool trains() const override { return false; }
  void craft(const CraftInput& in, std::span<const std::span<float>> mine) const override {
    for (std::size_t k = 0; k < mine.size(); ++k) {
      write_global_movement(in, mine[k], scale_);
      if (sigma_ == 0) continue;
      core::Rng rng(in.seed, "delta_weights", k, static_cast<std::uint64_t>(in.round));
      for (float& x : mine[k]) x = static_cast<float>(x + sigma_ * rng.normal());
    }
  }

 private:
  float scale_;
  double sigma_;
};
}  // namespace

void register_delta_weights(AttackRegistry& reg) {
  reg.add({"delta_weights",
           "free-rider (Lin et al. 2019): scale * (global - previous_global) plus small Gaussian "
           "noise",
           {{"scale", "float", "1.0", "", "multiplier of the global movement"},
            {"sigma", "float", "1e-3", "", "standard deviation of the added noise (0: none)"}}},
          [](const scenario::ParamView& p, int, int) {
            const auto scale = static_cast<float>(p.number("scale", 1.0));
            const double sigma = p.number("sigma", 1e-3, scenario::Bounds::non_negative());
            return std::make_unique<DeltaWeights>(scale, sigma);
          });
}

}  // namespace ledgerfl::agents::attacks
