// mimic: Karimireddy, He & Jaggi 2022, "Byzantine-robust learning on heterogeneous datasets
// via bucketing" (ICLR), Sec. 5 / App. "mimic attack": every malicious identity copies one
// benign update, the one that lies furthest along the top principal direction of the centred
// benign updates, so the aggregate over-represents that worker's heterogeneous data. The top
// direction is found by power iteration on the k x k Gram matrix K = C C^T of the centred
// updates C (its top eigenvector u gives the projections: C v = sqrt(lambda) u), so the cost is
// one k x k x d GEMM. Simplification: the paper tracks the direction online across rounds
// (and chooses the worker once, at warm-up); we recompute it every round from `known`.
#include <cmath>

#include "sim/agents/attacks/builtin.hpp"
#include "sim/agents/attacks/common.hpp"

namespace ledgerfl::agents::attacks {

std::size_t mimic_choice(Updates known, std::uint64_t seed, std::int64_t round) {
  const std::size_t k = known.size();
  if (k <= 1) return 0;
  // Gram of the centred updates: one GEMM (float; the choice only needs the ordering of the
  // projections, which a 1e-6 relative error does not change but for near ties).
  const std::vector<double> gram = centred_gram(known);
  // Power iteration from a keyed random start (a constant start is orthogonal to every
  // eigenvector but the null one of a centred Gram matrix).
  core::Rng rng(seed, "mimic", 0, static_cast<std::uint64_t>(round));
  std::vector<double> u(k), w(k);
  for (double& x : u) x = rng.normal();
  for (int it = 0; it < 200; ++it) {
    double norm = 0.0;
    for (std::size_t i = 0; i < k; ++i) {
      double s = 0.0;
      for (std::size_t j = 0; j < k; ++j) s += gram[i * k + j] * u[j];
      w[i] = s;
      norm += s * s;
    }
    norm = std::sqrt(norm);
    if (!(norm > 0)) return 0;  // all updates equal: any is the mean
    double change = 0.0;
    for (std::size_t i = 0; i < k; ++i) {
      w[i] /= norm;
      change += (w[i] - u[i]) * (w[i] - u[i]);
    }
    u.swap(w);
    if (change < 1e-24) break;
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < k; ++i)
    if (std::abs(u[i]) > std::abs(u[best])) best = i;
  return best;
}

namespace {
class Mimic final : public ClientAttack {
 public:
  std::string name() const override { return "mimic"; }
  void craft(const CraftInput& in, std::span<const std::span<float>> mine) const override {
    if (in.known.empty() || mine.empty()) return;
    // Copy first: under own-data knowledge `known` may alias `mine`'s values.
    const auto src = in.known[mimic_choice(in.known, in.seed, in.round)];
    const std::vector<float> chosen(src.begin(), src.end());
    for (const auto& m : mine) {
      if (m.size() != chosen.size()) throw std::invalid_argument("mimic: update length mismatch");
      std::copy(chosen.begin(), chosen.end(), m.begin());
    }
  }
};
}  // namespace

void register_mimic(AttackRegistry& reg) {
  reg.add({"mimic",
           "mimic (Karimireddy et al. 2022): all copy the benign update furthest along the top "
           "principal direction of the benign updates",
           {}},
          [](const scenario::ParamView&, int, int) { return std::make_unique<Mimic>(); });
}

}  // namespace ledgerfl::agents::attacks
