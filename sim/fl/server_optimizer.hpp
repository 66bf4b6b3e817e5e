// Server optimizers: how the aggregated delta moves the global model (Reddi et al. 2021,
// "Adaptive Federated Optimization", Alg. 2: the aggregate delta is a pseudo-gradient).
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/scenario/registry.hpp"

namespace ledgerfl::fl {

class ServerOptimizer {
 public:
  virtual ~ServerOptimizer() = default;
  virtual std::string name() const = 0;
  // global <- step(global, delta). Stateful (momentum, second moments), sized on first call.
  virtual void apply(std::span<float> global, std::span<const float> delta) = 0;
};

struct AdaptiveOptions {
  double lr = 0.01;     // eta
  double beta1 = 0.9;   // first moment decay (0 disables momentum)
  double beta2 = 0.99;  // second moment decay
  double tau = 1e-3;    // adaptivity / numerical floor
};

// Plain server SGD: x += lr * delta (lr = 1 gives FedAvg).
std::unique_ptr<ServerOptimizer> make_server_sgd(double lr);
// FedAvgM (Hsu et al. 2019): v = beta v + delta; x += lr v.
std::unique_ptr<ServerOptimizer> make_fedavgm(double lr, double momentum);
// Reddi et al. 2021, Alg. 2: m = b1 m + (1-b1) d; v per rule; x += lr m / (sqrt(v) + tau).
//   FedAdagrad: v = v + d^2;  FedAdam: v = b2 v + (1-b2) d^2;
//   FedYogi:    v = v - (1-b2) d^2 sign(v - d^2).   v starts at tau^2 as in the paper.
std::unique_ptr<ServerOptimizer> make_fedadagrad(const AdaptiveOptions& o);
std::unique_ptr<ServerOptimizer> make_fedadam(const AdaptiveOptions& o);
std::unique_ptr<ServerOptimizer> make_fedyogi(const AdaptiveOptions& o);

using ServerOptimizerFactory =
    std::function<std::unique_ptr<ServerOptimizer>(const scenario::ParamView&)>;
using ServerOptimizerRegistry = scenario::Registry<ServerOptimizerFactory>;
void register_builtin_server_optimizers(ServerOptimizerRegistry& reg);

}  // namespace ledgerfl::fl
