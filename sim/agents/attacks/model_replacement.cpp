// model_replacement: Bagdasaryan et al. 2020, "How to backdoor federated learning" (AISTATS),
// Sec. 4: train on backdoored data, then scale the update by gamma = n / eta so that it
// survives averaging with the benign ones and replaces the global model. With our updates as
// deltas and the server step folded into the aggregate, gamma defaults to n / num_malicious
// (the round's updates over this attack's), i.e. the attackers' share of the average is undone.
#include "sim/agents/attacks/builtin.hpp"
#include "sim/agents/attacks/common.hpp"

namespace ledgerfl::agents::attacks {

namespace {
class ModelReplacement final : public TriggerAttack {
 public:
  ModelReplacement(Trigger t, std::int32_t target, double fraction, int dim,
                   std::optional<double> boost)
      : TriggerAttack(std::move(t), target, fraction, dim), boost_(boost) {}
  std::string name() const override { return "model_replacement"; }
  void craft(const CraftInput& in, std::span<const std::span<float>> mine) const override {
    if (mine.empty()) return;
    const double gamma = boost_ ? *boost_
                                : static_cast<double>(std::max(in.n, mine.size())) /
                                      static_cast<double>(mine.size());
    for (const auto& m : mine)
      for (float& x : m) x = static_cast<float>(gamma * x);
  }

 private:
  std::optional<double> boost_;
};
}  // namespace

void register_model_replacement(AttackRegistry& reg) {
  auto docs = backdoor_docs();
  docs.push_back({"boost", "float", "n / num_malicious", "",
                  "gamma, the factor the backdoored update is scaled by"});
  reg.add({"model_replacement",
           "backdoor + boosted update (Bagdasaryan et al. 2020): the backdoored delta is scaled "
           "by gamma so that it replaces the global model",
           std::move(docs)},
          [](const scenario::ParamView& p, int input_dim, int classes) {
            Trigger t = read_trigger(p, input_dim);
            const auto target = read_target(p, classes);
            const double fraction = read_poison_fraction(p);
            std::optional<double> boost;
            if (p.has("boost"))
              boost = p.number("boost", std::nullopt, scenario::Bounds::positive());
            return std::make_unique<ModelReplacement>(std::move(t), target, fraction, input_dim,
                                                      boost);
          });
}

}  // namespace ledgerfl::agents::attacks
