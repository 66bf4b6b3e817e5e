// min_max: Shejwalkar & Houmansadr 2021, "Manipulating the Byzantine: optimizing model
// poisoning attacks and defenses for federated learning" (NDSS), Sec. 4.3 "AGR-agnostic
// attacks", Min-Max: the malicious update mean + gamma * p whose largest squared distance to a
// benign update stays within the largest distance between two benign updates, gamma maximised
// by their Alg. 1 (common.cpp agr_tailored_gamma). Also holds the shared AgrAgnostic class.
#include "sim/agents/attacks/agr_agnostic.hpp"
#include "sim/agents/attacks/builtin.hpp"

namespace ledgerfl::agents::attacks {

std::vector<double> agr_perturbation(Perturbation kind, Updates known,
                                     std::span<const double> mean) {
  std::vector<double> p(mean.size());
  switch (kind) {
    case Perturbation::kUnitVec: {
      double norm = 0.0;
      for (double x : mean) norm += x * x;
      norm = std::sqrt(norm);
      if (norm > 0)
        for (std::size_t j = 0; j < p.size(); ++j) p[j] = -mean[j] / norm;
      break;
    }
    case Perturbation::kStd: {
      const auto sd = coordinate_std(known, mean);
      for (std::size_t j = 0; j < p.size(); ++j) p[j] = -sd[j];
      break;
    }
    case Perturbation::kSign:
      for (std::size_t j = 0; j < p.size(); ++j)
        p[j] = mean[j] > 0 ? -1.0 : (mean[j] < 0 ? 1.0 : 0.0);
      break;
  }
  return p;
}

void AgrAgnostic::craft(const CraftInput& in, std::span<const std::span<float>> mine) const {
  if (in.known.empty() || mine.empty()) return;
  const auto mean = coordinate_mean(in.known);
  const auto p = agr_perturbation(p_, in.known, mean);
  const double gamma = agr_tailored_gamma(in.known, mean, p, oracle_, gamma_init_, tau_);
  std::vector<double> v(mean.size());
  for (std::size_t j = 0; j < v.size(); ++j) v[j] = mean[j] + gamma * p[j];
  write_all(mine, v);
}

std::unique_ptr<ClientAttack> make_agr_agnostic(AgrOracle oracle, const scenario::ParamView& p) {
  static constexpr std::string_view kinds[] = {"unit_vec", "std", "sign"};
  const std::string k = p.choice("perturbation", kinds, "unit_vec");
  const Perturbation kind = k == "unit_vec"
                                ? Perturbation::kUnitVec
                                : (k == "std" ? Perturbation::kStd : Perturbation::kSign);
  const double gamma_init = p.number("gamma_init", 10.0, scenario::Bounds::positive());
  const double tau = p.number("tau", 1e-5, scenario::Bounds::positive());
  return std::make_unique<AgrAgnostic>(oracle, kind, gamma_init, tau);
}

std::vector<scenario::ParamDoc> agr_agnostic_docs() {
  return {{"perturbation", "string", "\"unit_vec\"", "",
           "direction p: \"unit_vec\" (-mean/||mean||), \"std\" (-std), \"sign\" (-sign(mean))"},
          {"gamma_init", "float", "10.0", "", "first gamma of the search (doubled while feasible)"},
          {"tau", "float", "1e-5", "", "the search stops when the gamma bracket is below tau"}};
}

void register_min_max(AttackRegistry& reg) {
  reg.add({"min_max",
           "AGR-agnostic Min-Max (Shejwalkar & Houmansadr 2021): mean + gamma p, max distance to "
           "a benign update <= max benign pairwise distance",
           agr_agnostic_docs()},
          [](const scenario::ParamView& p, int, int) {
            return make_agr_agnostic(AgrOracle::kMinMax, p);
          });
}

}  // namespace ledgerfl::agents::attacks
