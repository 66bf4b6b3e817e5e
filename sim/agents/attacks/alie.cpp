// alie: "A little is enough", Baruch, Baruch & Goldberg 2019 (NeurIPS), Alg. 3: every malicious
// update is mu_j - z * sigma_j per coordinate, mu and sigma the mean and (population) standard
// deviation of the known benign updates. z_max: with s = floor(n/2 + 1) - f supporters needed,
// z = Phi^{-1}((n - s) / n) (their Sec. 3.3, f = this attack's num_malicious); s < 1 is taken
// as 1 so that z stays finite. Key `z` overrides.
#include <cmath>

#include "sim/agents/attacks/builtin.hpp"
#include "sim/agents/attacks/common.hpp"

namespace ledgerfl::agents::attacks {

double alie_z(std::size_t n, std::size_t f) {
  if (n == 0) return 0.0;
  const auto half = static_cast<std::int64_t>(std::floor(static_cast<double>(n) / 2.0 + 1.0));
  const std::int64_t s = std::max<std::int64_t>(1, half - static_cast<std::int64_t>(f));
  return inverse_normal_cdf(static_cast<double>(static_cast<std::int64_t>(n) - s) /
                            static_cast<double>(n));
}

namespace {
class Alie final : public ClientAttack {
 public:
  explicit Alie(std::optional<double> z) : z_(z) {}
  std::string name() const override { return "alie"; }
  void craft(const CraftInput& in, std::span<const std::span<float>> mine) const override {
    if (in.known.empty() || mine.empty()) return;
    const double z = z_ ? *z_ : alie_z(in.n, in.num_malicious);
    const auto mu = coordinate_mean(in.known);
    const auto sd = coordinate_std(in.known, mu);
    std::vector<double> v(mu.size());
    for (std::size_t j = 0; j < v.size(); ++j) v[j] = mu[j] - z * sd[j];
    write_all(mine, v);
  }

 private:
  std::optional<double> z_;
};
}  // namespace

void register_alie(AttackRegistry& reg) {
  reg.add({"alie",
           "a little is enough (Baruch et al. 2019): mean - z * std of the known benign updates",
           {{"z", "float", "Phi^-1((n - s) / n), s = floor(n/2 + 1) - f", "",
             "the number of standard deviations; default from n and f = num_malicious"}}},
          [](const scenario::ParamView& p, int, int) {
            std::optional<double> z;
            if (p.has("z")) z = p.number("z", std::nullopt);
            return std::make_unique<Alie>(z);
          });
}

}  // namespace ledgerfl::agents::attacks
