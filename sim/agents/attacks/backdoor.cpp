// backdoor: BadNets (Gu, Dolan-Gavitt & Garg 2017, "BadNets: identifying vulnerabilities in the
// machine learning model supply chain"): a pixel trigger stamped on a fraction of the
// identity's rows, relabelled to the target class. The trigger and the row sampling live in
// common.cpp (shared with dba, model_replacement and neurotoxin).
#include "sim/agents/attacks/builtin.hpp"
#include "sim/agents/attacks/common.hpp"

namespace ledgerfl::agents::attacks {

namespace {
class Backdoor final : public TriggerAttack {
 public:
  using TriggerAttack::TriggerAttack;
  std::string name() const override { return "backdoor"; }
};
}  // namespace

void register_backdoor(AttackRegistry& reg) {
  reg.add({"backdoor",
           "BadNets backdoor (Gu et al. 2017): a pixel trigger and the target label on "
           "poison_fraction of the rows; success set = triggered test inputs of other classes",
           backdoor_docs()},
          [](const scenario::ParamView& p, int input_dim, int classes) {
            Trigger t = read_trigger(p, input_dim);
            const auto target = read_target(p, classes);
            const double fraction = read_poison_fraction(p);
            return std::make_unique<Backdoor>(std::move(t), target, fraction, input_dim);
          });
}

}  // namespace ledgerfl::agents::attacks
