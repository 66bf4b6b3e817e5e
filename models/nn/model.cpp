// Default implementations of the Model interface.
#include "models/nn/model.hpp"

namespace ledgerfl::nn {

float Model::sgd_step(std::span<float> params, const float* x, const std::int32_t* y, int n,
                      float lr, std::span<float> grad_scratch, Workspace& ws) const {
  const float loss = loss_and_grad(params, x, y, n, grad_scratch, ws);
  for (std::size_t i = 0; i < params.size(); ++i) params[i] -= lr * grad_scratch[i];
  return loss;
}

}  // namespace ledgerfl::nn
