// Built-in scalar distributions: fixed, uniform, normal (truncated at 0), lognormal, pareto.
#include "sim/agents/distribution.hpp"

#include <cmath>

#include "sim/core/units.hpp"

namespace ledgerfl::agents {

namespace {
using scenario::Bounds;
using scenario::ParamView;

double read_value(const ParamView& p, std::string_view key, ValueKind kind,
                  std::optional<double> def, Bounds b = Bounds::positive()) {
  if (kind == ValueKind::kRate) return p.rate(key, def);
  return p.number(key, def, b);
}

class Fixed final : public Distribution {
 public:
  explicit Fixed(double v) : v_(v) {}
  double sample(core::Rng&) const override { return v_; }
  double mean() const override { return v_; }
  double lower_bound() const override { return v_; }
  double upper_bound() const override { return v_; }

 private:
  double v_;
};

class Uniform final : public Distribution {
 public:
  Uniform(double lo, double hi) : lo_(lo), hi_(hi) {}
  double sample(core::Rng& r) const override { return r.uniform(lo_, hi_); }
  double mean() const override { return 0.5 * (lo_ + hi_); }
  double lower_bound() const override { return lo_; }
  double upper_bound() const override { return hi_; }

 private:
  double lo_, hi_;
};

class TruncNormal final : public Distribution {
 public:
  TruncNormal(double mu, double sd) : mu_(mu), sd_(sd) {}
  double sample(core::Rng& r) const override {
    for (int i = 0; i < 64; ++i) {
      const double x = r.normal(mu_, sd_);
      if (x > 0) return x;
    }
    return mu_;
  }
  double mean() const override { return mu_; }

 private:
  double mu_, sd_;
};

class LogNormal final : public Distribution {
 public:
  LogNormal(double median, double sigma) : mu_(std::log(median)), sigma_(sigma) {}
  double sample(core::Rng& r) const override { return r.lognormal(mu_, sigma_); }
  double mean() const override { return std::exp(mu_ + 0.5 * sigma_ * sigma_); }

 private:
  double mu_, sigma_;
};

class Pareto final : public Distribution {
 public:
  Pareto(double scale, double shape) : scale_(scale), shape_(shape) {}
  double sample(core::Rng& r) const override { return r.pareto(scale_, shape_); }
  double mean() const override { return shape_ > 1 ? shape_ * scale_ / (shape_ - 1) : INFINITY; }
  double lower_bound() const override { return scale_; }

 private:
  double scale_, shape_;
};
}  // namespace

double Distribution::upper_bound() const {
  return INFINITY;
}

std::unique_ptr<Distribution> make_fixed(double v) {
  return std::make_unique<Fixed>(v);
}

void register_builtin_distributions(DistributionRegistry& reg) {
  const std::string v = "number or rate";
  reg.add({"fixed", "every client gets the same value", {{"value", v, "", "", "the value"}}},
          [](const ParamView& p, ValueKind k) {
            return std::make_unique<Fixed>(read_value(p, "value", k, std::nullopt));
          });
  reg.add({"uniform",
           "uniform on [low, high)",
           {{"low", v, "", "", "lower bound"}, {"high", v, "", "", "upper bound (> low)"}}},
          [](const ParamView& p, ValueKind k) {
            const double lo = read_value(p, "low", k, std::nullopt);
            const double hi = read_value(p, "high", k, std::nullopt);
            if (!(hi > lo)) p.fail("high", "must be greater than low");
            return std::make_unique<Uniform>(lo, hi);
          });
  reg.add(
      {"normal",
       "normal(mean, sd), redrawn while <= 0",
       {{"mean", v, "", "", "mean"}, {"sd", "float", "", "same as mean", "standard deviation"}}},
      [](const ParamView& p, ValueKind k) {
        const double mu = read_value(p, "mean", k, std::nullopt);
        const double sd = read_value(p, "sd", k, std::nullopt, Bounds::non_negative());
        return std::make_unique<TruncNormal>(mu, sd);
      });
  reg.add({"lognormal",
           "log-normal with the given median and log-space sigma (heavy-tailed device speeds, "
           "as measured by Lai et al. 2021, Oort / FedScale)",
           {{"median", v, "", "", "median value"},
            {"sigma", "float", "1.0", "", "standard deviation of log(value)"}}},
          [](const ParamView& p, ValueKind k) {
            const double med = read_value(p, "median", k, std::nullopt);
            const double sigma = p.number("sigma", 1.0, Bounds::non_negative());
            return std::make_unique<LogNormal>(med, sigma);
          });
  reg.add({"pareto",
           "Pareto with scale x_m (the minimum) and shape alpha",
           {{"scale", v, "", "", "minimum value x_m"},
            {"shape", "float", "2.0", "", "tail index alpha (> 0)"}}},
          [](const ParamView& p, ValueKind k) {
            const double scale = read_value(p, "scale", k, std::nullopt);
            const double shape = p.number("shape", 2.0, Bounds::positive());
            return std::make_unique<Pareto>(scale, shape);
          });
}

std::unique_ptr<Distribution> read_distribution(const DistributionRegistry& reg, const ParamView& p,
                                                std::string_view key, ValueKind kind,
                                                const std::string& default_value) {
  if (p.is_table(key)) {
    const ParamView t = p.table(key);
    return reg.get(t, "type").factory(t, kind);
  }
  // A bare value means "fixed".
  if (kind == ValueKind::kRate)
    return std::make_unique<Fixed>(p.rate(key, *core::parse_rate(default_value)));
  return std::make_unique<Fixed>(p.number(key, std::stod(default_value), Bounds::positive()));
}

}  // namespace ledgerfl::agents
