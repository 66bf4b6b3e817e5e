// Server optimizers: SGD, FedAvgM, FedAdagrad, FedAdam, FedYogi (Reddi et al. 2021, Alg. 2).
#include "sim/fl/server_optimizer.hpp"

#include <cmath>

namespace ledgerfl::fl {

namespace {
class ServerSgd final : public ServerOptimizer {
 public:
  explicit ServerSgd(double lr) : lr_(static_cast<float>(lr)) {}
  std::string name() const override { return "sgd"; }
  void apply(std::span<float> x, std::span<const float> d) override {
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += lr_ * d[i];
  }

 private:
  float lr_;
};

class FedAvgM final : public ServerOptimizer {
 public:
  FedAvgM(double lr, double beta) : lr_(lr), beta_(beta) {}
  std::string name() const override { return "fedavgm"; }
  void apply(std::span<float> x, std::span<const float> d) override {
    if (v_.size() != x.size()) v_.assign(x.size(), 0.0);
    for (std::size_t i = 0; i < x.size(); ++i) {
      v_[i] = beta_ * v_[i] + d[i];
      x[i] = static_cast<float>(x[i] + lr_ * v_[i]);
    }
  }

 private:
  double lr_, beta_;
  std::vector<double> v_;
};

enum class Rule { kAdagrad, kAdam, kYogi };

class Adaptive final : public ServerOptimizer {
 public:
  Adaptive(Rule rule, AdaptiveOptions o) : rule_(rule), o_(o) {}
  std::string name() const override {
    return rule_ == Rule::kAdagrad ? "fedadagrad" : rule_ == Rule::kAdam ? "fedadam" : "fedyogi";
  }
  void apply(std::span<float> x, std::span<const float> d) override {
    if (m_.size() != x.size()) {
      m_.assign(x.size(), 0.0);
      v_.assign(x.size(), o_.tau * o_.tau);
    }
    const double b1 = o_.beta1, b2 = o_.beta2;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double g = d[i], g2 = g * g;
      m_[i] = b1 * m_[i] + (1.0 - b1) * g;
      switch (rule_) {
        case Rule::kAdagrad:
          v_[i] += g2;
          break;
        case Rule::kAdam:
          v_[i] = b2 * v_[i] + (1.0 - b2) * g2;
          break;
        case Rule::kYogi: {
          const double s = v_[i] - g2;
          v_[i] -= (1.0 - b2) * g2 * static_cast<double>((s > 0) - (s < 0));
          break;
        }
      }
      x[i] = static_cast<float>(x[i] + o_.lr * m_[i] / (std::sqrt(v_[i]) + o_.tau));
    }
  }

 private:
  Rule rule_;
  AdaptiveOptions o_;
  std::vector<double> m_, v_;
};

AdaptiveOptions read_adaptive(const scenario::ParamView& p) {
  using scenario::Bounds;
  AdaptiveOptions o;
  o.lr = p.number("lr", 0.01, Bounds::positive());
  o.beta1 = p.number("beta1", 0.9, {0.0, 1.0, false, true});
  o.beta2 = p.number("beta2", 0.99, {0.0, 1.0, false, true});
  o.tau = p.number("tau", 1e-3, Bounds::positive());
  return o;
}

std::vector<scenario::ParamDoc> adaptive_docs() {
  return {{"lr", "float", "0.01", "", "server learning rate eta"},
          {"beta1", "float", "0.9", "", "first-moment decay, [0, 1)"},
          {"beta2", "float", "0.99", "", "second-moment decay, [0, 1) (unused by fedadagrad)"},
          {"tau", "float", "0.001", "", "adaptivity tau (v starts at tau^2)"}};
}
}  // namespace

std::unique_ptr<ServerOptimizer> make_server_sgd(double lr) {
  return std::make_unique<ServerSgd>(lr);
}
std::unique_ptr<ServerOptimizer> make_fedavgm(double lr, double momentum) {
  return std::make_unique<FedAvgM>(lr, momentum);
}
std::unique_ptr<ServerOptimizer> make_fedadagrad(const AdaptiveOptions& o) {
  return std::make_unique<Adaptive>(Rule::kAdagrad, o);
}
std::unique_ptr<ServerOptimizer> make_fedadam(const AdaptiveOptions& o) {
  return std::make_unique<Adaptive>(Rule::kAdam, o);
}
std::unique_ptr<ServerOptimizer> make_fedyogi(const AdaptiveOptions& o) {
  return std::make_unique<Adaptive>(Rule::kYogi, o);
}

void register_builtin_server_optimizers(ServerOptimizerRegistry& reg) {
  using scenario::Bounds;
  reg.add({"sgd",
           "x += lr * aggregate (lr = 1 is plain FedAvg)",
           {{"lr", "float", "1.0", "", "server learning rate"}}},
          [](const scenario::ParamView& p) {
            return make_server_sgd(p.number("lr", 1.0, Bounds::positive()));
          });
  reg.add({"fedavgm",
           "server momentum (Hsu et al. 2019, FedAvgM)",
           {{"lr", "float", "1.0", "", "server learning rate"},
            {"momentum", "float", "0.9", "", "momentum beta, [0, 1)"}}},
          [](const scenario::ParamView& p) {
            const double lr = p.number("lr", 1.0, Bounds::positive());
            return make_fedavgm(lr, p.number("momentum", 0.9, {0.0, 1.0, false, true}));
          });
  reg.add({"fedadagrad", "adaptive server optimizer (Reddi et al. 2021, Alg. 2)", adaptive_docs()},
          [](const scenario::ParamView& p) { return make_fedadagrad(read_adaptive(p)); });
  reg.add({"fedadam", "adaptive server optimizer (Reddi et al. 2021, Alg. 2)", adaptive_docs()},
          [](const scenario::ParamView& p) { return make_fedadam(read_adaptive(p)); });
  reg.add({"fedyogi", "adaptive server optimizer (Reddi et al. 2021, Alg. 2)", adaptive_docs()},
          [](const scenario::ParamView& p) { return make_fedyogi(read_adaptive(p)); });
}

}  // namespace ledgerfl::fl
