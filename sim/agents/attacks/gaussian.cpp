// gaussian: a random update, N(0, sigma^2) per coordinate ("Gaussian attack" of Blanchard et
// al. 2017 Sec. 5 and Fang et al. 2020), or that noise added to the honest update
// (mode = "additive"). Identity k draws from Rng(seed, "gaussian", k, round).
#include "sim/agents/attacks/builtin.hpp"

namespace ledgerfl::agents::attacks {

namespace {
class Gaussian final : public ClientAttack {
 public:
  Gaussian(double sigma, bool additive) : sigma_(sigma), additive_(additive) {}
  std::string name() const override { return "gaussian"; }
  void craft(const CraftInput& in, std::span<const std::span<float>> mine) const override {
    for (std::size_t k = 0; k < mine.size(); ++k) {
      core::Rng rng(in.seed, "gaussian", k, static_cast<std::uint64_t>(in.round));
      for (float& x : mine[k]) {
        const double e = sigma_ * rng.normal();
        x = static_cast<float>(additive_ ? x + e : e);
      }
    }
  }

 private:
  double sigma_;
  bool additive_;
};
}  // namespace

void register_gaussian(AttackRegistry& reg) {
  reg.add({"gaussian",
           "model poisoning: submit N(0, sigma^2) noise, or add it to the honest update",
           {{"sigma", "float", "1.0", "", "standard deviation per coordinate"},
            {"mode", "string", "\"replace\"", "",
             "\"replace\" (the update is the noise) or \"additive\" (honest update + noise)"}}},
          [](const scenario::ParamView& p, int, int) {
            static constexpr std::string_view modes[] = {"replace", "additive"};
            const double sigma = p.number("sigma", 1.0, scenario::Bounds::non_negative());
            const bool additive = p.choice("mode", modes, "replace") == "additive";
            return std::make_unique<Gaussian>(sigma, additive);
          });
}

}  // namespace ledgerfl::agents::attacks
