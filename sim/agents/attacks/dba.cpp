// dba: distributed backdoor attack, Xie, Huang, Chen & Li 2020, "DBA: distributed backdoor
// attacks against federated learning" (ICLR), Sec. 2.2: the global trigger is split into
// `parts` local patterns; attacker k poisons its data with local pattern k % parts only, while
// the attack is judged with the full global trigger. Our split: the trigger's pixels in
// row-major order cut into `parts` contiguous, nearly equal runs (for the default 4x4 square,
// its four rows: the paper's four bars).
#include "sim/agents/attacks/builtin.hpp"
#include "sim/agents/attacks/common.hpp"

namespace ledgerfl::agents::attacks {

namespace {
class Dba final : public TriggerAttack {
 public:
  Dba(Trigger t, std::int32_t target, double fraction, int dim, std::size_t parts)
      : TriggerAttack(std::move(t), target, fraction, dim) {
    const auto& px = trigger().pixels;
    for (std::size_t k = 0; k < parts; ++k) {
      const std::size_t lo = k * px.size() / parts, hi = (k + 1) * px.size() / parts;
      parts_.emplace_back(px.begin() + static_cast<std::ptrdiff_t>(lo),
                          px.begin() + static_cast<std::ptrdiff_t>(hi));
    }
  }
  std::string name() const override { return "dba"; }
  std::size_t num_parts() const { return parts_.size(); }
  std::span<const std::uint32_t> part(std::size_t k) const { return parts_[k % parts_.size()]; }

 protected:
  std::span<const std::uint32_t> pixels_for(std::size_t identity) const override {
    return part(identity);
  }

 private:
  std::vector<std::vector<std::uint32_t>> parts_;
};
}  // namespace

void register_dba(AttackRegistry& reg) {
  auto docs = backdoor_docs();
  docs.push_back(
      {"parts", "int", "4", "",
       "local patterns the global trigger is split into; identity k uses part k % parts"});
  reg.add({"dba",
           "distributed backdoor (Xie et al. 2020): each identity stamps one part of the trigger; "
           "success set uses the full global trigger",
           std::move(docs)},
          [](const scenario::ParamView& p, int input_dim, int classes) {
            Trigger t = read_trigger(p, input_dim);
            const auto target = read_target(p, classes);
            const double fraction = read_poison_fraction(p);
            const auto parts = p.integer("parts", 4, scenario::Bounds::at_least(1));
            if (static_cast<std::size_t>(parts) > t.pixels.size())
              p.fail("parts", "= " + std::to_string(parts) + " exceeds the trigger's " +
                                  std::to_string(t.pixels.size()) + " pixels");
            return std::make_unique<Dba>(std::move(t), target, fraction, input_dim,
                                         static_cast<std::size_t>(parts));
          });
}

}  // namespace ledgerfl::agents::attacks
