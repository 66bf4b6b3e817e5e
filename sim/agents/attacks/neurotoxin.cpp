// neurotoxin: Zhang et al. 2022, "Neurotoxin: durable backdoors in federated learning" (ICML),
// Alg. 1: the backdoor update is projected away from the coordinates the benign clients change
// most, so later benign rounds do not overwrite it. The benign direction is the last global
// movement, global - previous_global; its top-`ratio` coordinates by magnitude are zeroed in the
// attacker's delta. Simplification: the paper projects after every local step; we project the
// final update once (craft sees only the trained delta). Before the first aggregate there is
// no movement to read, and no mask.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "sim/agents/attacks/builtin.hpp"
#include "sim/agents/attacks/common.hpp"

namespace ledgerfl::agents::attacks {

namespace {
class Neurotoxin final : public TriggerAttack {
 public:
  Neurotoxin(Trigger t, std::int32_t target, double fraction, int dim, double ratio)
      : TriggerAttack(std::move(t), target, fraction, dim), ratio_(ratio) {}
  std::string name() const override { return "neurotoxin"; }
  void craft(const CraftInput& in, std::span<const std::span<float>> mine) const override {
    if (in.previous_global.empty() || in.global.size() != in.previous_global.size()) return;
    const std::size_t d = in.global.size();
    const auto k = std::min<std::size_t>(
        d, static_cast<std::size_t>(std::llround(ratio_ * static_cast<double>(d))));
    if (k == 0) return;
    std::vector<float> mag(d);
    for (std::size_t j = 0; j < d; ++j) mag[j] = std::abs(in.global[j] - in.previous_global[j]);
    std::vector<std::uint32_t> idx(d);
    std::iota(idx.begin(), idx.end(), 0u);
    // Largest magnitude first, the lower index on a tie: the mask does not depend on the sort.
    std::nth_element(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k - 1), idx.end(),
                     [&](std::uint32_t a, std::uint32_t b) {
                       return mag[a] > mag[b] || (mag[a] == mag[b] && a < b);
                     });
    for (const auto& m : mine)
      for (std::size_t t = 0; t < k; ++t) m[idx[t]] = 0.0f;
  }

 private:
  double ratio_;
};
}  // namespace

void register_neurotoxin(AttackRegistry& reg) {
  auto docs = backdoor_docs();
  docs.push_back({"ratio", "float", "0.1", "",
                  "fraction of coordinates (the largest |global - previous_global|) zeroed in the "
                  "attacker's delta"});
  reg.add({"neurotoxin",
           "durable backdoor (Zhang et al. 2022): backdoor data, delta zeroed on the top-ratio "
           "coordinates of the last global movement",
           std::move(docs)},
          [](const scenario::ParamView& p, int input_dim, int classes) {
            Trigger t = read_trigger(p, input_dim);
            const auto target = read_target(p, classes);
            const double fraction = read_poison_fraction(p);
            const double ratio = p.number("ratio", 0.1, scenario::Bounds::probability());
            return std::make_unique<Neurotoxin>(std::move(t), target, fraction, input_dim, ratio);
          });
}

}  // namespace ledgerfl::agents::attacks
