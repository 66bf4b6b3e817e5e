// fang_krum: Fang, Cao, Jia & Gong 2020 (USENIX Security), Sec. 3, the full-knowledge attack on
// Krum. In delta form (w_Re, the global model, is the origin): the crafted update is -lambda*s,
// s the sign of the benign mean; lambda starts at the paper's upper bound
//   lambda_ub = 1/((m - 2c - 1) sqrt(d)) * min_i sum_{l in Gamma(i, m - c - 2)} ||g_l - g_i||
//             + 1/sqrt(d) * max_i ||g_i||
// (m = known + c updates, c = num_malicious, Gamma(i, q) the q benign updates nearest g_i) and
// is halved until Krum over the known updates plus the c crafted copies selects a crafted one,
// or lambda < 1e-5 (then the last lambda is submitted). Every identity submits the same update
// (the paper perturbs the other c - 1 copies slightly; identical copies only help Krum pick one).
#include <algorithm>
#include <cmath>

#include "sim/agents/attacks/builtin.hpp"
#include "sim/agents/attacks/common.hpp"

namespace ledgerfl::agents::attacks {

double fang_krum_lambda(Updates known, std::span<const double> s, std::size_t c) {
  const std::size_t k = known.size();
  if (k == 0 || s.empty()) return 0.0;
  const std::size_t m = k + c;
  const std::size_t d = s.size();
  const std::vector<double> d2 = pairwise_sq_distances(known);
  const double sqrt_d = std::sqrt(static_cast<double>(d));
  double max_norm = 0.0;
  for (const auto& g : known) {
    double n2 = 0.0;
    for (float x : g) n2 += static_cast<double>(x) * x;
    max_norm = std::max(max_norm, std::sqrt(n2));
  }
  double lambda = max_norm / sqrt_d;
  const std::ptrdiff_t denom =
      static_cast<std::ptrdiff_t>(m) - 2 * static_cast<std::ptrdiff_t>(c) - 1;
  const std::ptrdiff_t q =
      std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(m) - static_cast<std::ptrdiff_t>(c) - 2,
                               static_cast<std::ptrdiff_t>(k) - 1);
  if (denom > 0 && q > 0) {
    double best = INFINITY;
    std::vector<double> row;
    for (std::size_t i = 0; i < k; ++i) {
      row.clear();
      for (std::size_t j = 0; j < k; ++j)
        if (j != i) row.push_back(std::sqrt(d2[i * k + j]));
      std::partial_sort(row.begin(), row.begin() + q, row.end());
      double sum = 0.0;
      for (std::ptrdiff_t t = 0; t < q; ++t) sum += row[static_cast<std::size_t>(t)];
      best = std::min(best, sum);
    }
    lambda += best / (static_cast<double>(denom) * sqrt_d);
  }
  // Krum over known + c copies of -lambda * s: ||-lambda s - g_i||^2 expands so that each
  // halving costs O(m^2) (the Krum scores), not O(m d).
  std::vector<double> s_dot(k, 0.0), g_norm2(k, 0.0);
  double s_norm2 = 0.0;
  for (double x : s) s_norm2 += x * x;
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      s_dot[i] += s[j] * known[i][j];
      g_norm2[i] += static_cast<double>(known[i][j]) * known[i][j];
    }
  std::vector<double> all(m * m, 0.0);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) all[i * m + j] = d2[i * k + j];
  constexpr double kLambdaMin = 1e-5;
  for (;;) {
    for (std::size_t i = 0; i < k; ++i) {
      const double dist =
          std::max(0.0, lambda * lambda * s_norm2 + 2.0 * lambda * s_dot[i] + g_norm2[i]);
      for (std::size_t a = k; a < m; ++a) all[i * m + a] = all[a * m + i] = dist;
    }
    if (c == 0 || krum_select(all, m, c) >= k) break;
    if (lambda / 2 < kLambdaMin) break;
    lambda /= 2;
  }
  return lambda;
}

namespace {
class FangKrum final : public ClientAttack {
 public:
  std::string name() const override { return "fang_krum"; }
  void craft(const CraftInput& in, std::span<const std::span<float>> mine) const override {
    if (in.known.empty() || mine.empty()) return;
    const auto mean = coordinate_mean(in.known);
    std::vector<double> s(mean.size());
    for (std::size_t j = 0; j < s.size(); ++j)
      s[j] = mean[j] > 0 ? 1.0 : (mean[j] < 0 ? -1.0 : 0.0);
    const double lambda = fang_krum_lambda(in.known, s, mine.size());
    for (double& x : s) x *= -lambda;
    write_all(mine, s);
  }
};
}  // namespace

void register_fang_krum(AttackRegistry& reg) {
  reg.add({"fang_krum",
           "full-knowledge attack on Krum (Fang et al. 2020): -lambda * sign(benign mean), lambda "
           "halved from the paper's bound until Krum selects it",
           {}},
          [](const scenario::ParamView&, int, int) { return std::make_unique<FangKrum>(); });
}

}  // namespace ledgerfl::agents::attacks
