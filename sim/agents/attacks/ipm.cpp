// ipm: inner product manipulation, Xie, Koyejo & Gupta 2019, "Fall of empires: breaking
// Byzantine-tolerant SGD by inner product manipulation" (UAI), Sec. 4: every malicious update is
// -epsilon times the mean of the known benign updates, so the aggregate's inner product with
// the true gradient turns negative for a large enough epsilon.
#include "sim/agents/attacks/builtin.hpp"
#include "sim/agents/attacks/common.hpp"

namespace ledgerfl::agents::attacks {

namespace {
class Ipm final : public ClientAttack {
 public:
  explicit Ipm(double eps) : eps_(eps) {}
  std::string name() const override { return "ipm"; }
  void craft(const CraftInput& in, std::span<const std::span<float>> mine) const override {
    if (in.known.empty()) return;
    auto v = coordinate_mean(in.known);
    for (double& x : v) x *= -eps_;
    write_all(mine, v);
  }

 private:
  double eps_;
};
}  // namespace

void register_ipm(AttackRegistry& reg) {
  reg.add({"ipm",
           "inner product manipulation (Xie et al. 2019): -epsilon * mean of the known updates",
           {{"epsilon", "float", "0.5", "", "the scale of the reversed mean (> 0)"}}},
          [](const scenario::ParamView& p, int, int) {
            return std::make_unique<Ipm>(p.number("epsilon", 0.5, scenario::Bounds::positive()));
          });
}

}  // namespace ledgerfl::agents::attacks
