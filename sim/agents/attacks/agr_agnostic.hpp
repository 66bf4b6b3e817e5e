// The attack class shared by min_max and min_sum (Shejwalkar & Houmansadr 2021): reads the
// perturbation kind, gamma_init and tau; crafts mean + gamma * p.
#pragma once

#include <cmath>

#include "sim/agents/attacks/common.hpp"

namespace ledgerfl::agents::attacks {

enum class Perturbation { kUnitVec, kStd, kSign };

// The perturbation direction p of the paper's Sec. 4: -mean/||mean|| (inverse unit vector),
// -std (inverse standard deviation) or -sign(mean) (inverse sign).
std::vector<double> agr_perturbation(Perturbation kind, Updates known,
                                     std::span<const double> mean);

class AgrAgnostic final : public ClientAttack {
 public:
  AgrAgnostic(AgrOracle oracle, Perturbation p, double gamma_init, double tau)
      : oracle_(oracle), p_(p), gamma_init_(gamma_init), tau_(tau) {}
  std::string name() const override {
    return oracle_ == AgrOracle::kMinMax ? "min_max" : "min_sum";
  }
  void craft(const CraftInput& in, std::span<const std::span<float>> mine) const override;

 private:
  AgrOracle oracle_;
  Perturbation p_;
  double gamma_init_, tau_;
};

std::unique_ptr<ClientAttack> make_agr_agnostic(AgrOracle oracle, const scenario::ParamView& p);
std::vector<scenario::ParamDoc> agr_agnostic_docs();

}  // namespace ledgerfl::agents::attacks
