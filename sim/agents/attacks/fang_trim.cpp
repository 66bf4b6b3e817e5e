// fang_trim: Fang, Cao, Jia & Gong 2020, "Local model poisoning attacks to Byzantine-robust
// federated learning" (USENIX Security), Sec. 3, the full-knowledge attack on trimmed mean
// (and median). s_j, the direction the benign aggregate moves coordinate j in, is the sign of
// the benign mean; the crafted values push the other way, beyond the benign extremes:
//   s_j > 0 (benign increase): uniform in [w_min/b, w_min] if w_min > 0, else [b*w_min, w_min];
//   s_j <= 0:                  uniform in [w_max, b*w_max] if w_max > 0, else [w_max, w_max/b]
//                              (the paper writes [w_max/b, w_max]: the same set, w_max/b >= w_max),
// w_min/w_max the smallest/largest known benign value of coordinate j, b > 1 (paper: b = 2).
// Our updates are deltas (the paper works on local models; the rule is the same on a delta).
// Identity k draws from Rng(seed, "fang_trim", k, round).
#include <algorithm>

#include "sim/agents/attacks/builtin.hpp"
#include "sim/agents/attacks/common.hpp"

namespace ledgerfl::agents::attacks {

FangInterval fang_trim_interval(double mean, double w_min, double w_max, double b) {
  if (mean > 0) return w_min > 0 ? FangInterval{w_min / b, w_min} : FangInterval{b * w_min, w_min};
  return w_max > 0 ? FangInterval{w_max, b * w_max} : FangInterval{w_max, w_max / b};
}

namespace {
class FangTrim final : public ClientAttack {
 public:
  explicit FangTrim(double b) : b_(b) {}
  std::string name() const override { return "fang_trim"; }
  void craft(const CraftInput& in, std::span<const std::span<float>> mine) const override {
    if (in.known.empty() || mine.empty()) return;
    const auto mean = coordinate_mean(in.known);
    const std::size_t d = mean.size();
    std::vector<double> lo(d), hi(d);
    for (std::size_t j = 0; j < d; ++j) {
      double w_min = in.known[0][j], w_max = in.known[0][j];
      for (const auto& g : in.known)
        w_min = std::min<double>(w_min, g[j]), w_max = std::max<double>(w_max, g[j]);
      const FangInterval iv = fang_trim_interval(mean[j], w_min, w_max, b_);
      lo[j] = iv.lo, hi[j] = iv.hi;
    }
    for (std::size_t k = 0; k < mine.size(); ++k) {
      if (mine[k].size() != d) throw std::invalid_argument("fang_trim: update length mismatch");
      core::Rng rng(in.seed, "fang_trim", k, static_cast<std::uint64_t>(in.round));
      for (std::size_t j = 0; j < d; ++j)
        mine[k][j] = static_cast<float>(lo[j] + (hi[j] - lo[j]) * rng.uniform());
    }
  }

 private:
  double b_;
};
}  // namespace

void register_fang_trim(AttackRegistry& reg) {
  reg.add({"fang_trim",
           "full-knowledge attack on trimmed mean / median (Fang et al. 2020): per coordinate, "
           "values beyond the benign extremes against the benign direction",
           {{"b", "float", "2.0", "", "spread factor of the sampling interval (> 1)"}}},
          [](const scenario::ParamView& p, int, int) {
            return std::make_unique<FangTrim>(
                p.number("b", 2.0, scenario::Bounds{1.0, std::nullopt, true, false}));
          });
}

}  // namespace ledgerfl::agents::attacks
