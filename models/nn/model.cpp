// Default implementations of the Model interface.
#include "models/nn/model.hpp"

#include <algorithm>

namespace ledgerfl::nn {

float Model::sgd_step(std::span<float> params, const float* x, const std::int32_t* y, int n,
                      float lr, std::span<float> grad_scratch, Workspace& ws) const {
  const float loss = loss_and_grad(params, x, y, n, grad_scratch, ws);
  for (std::size_t i = 0; i < params.size(); ++i) params[i] -= lr * grad_scratch[i];
  return loss;
}

float Model::sgd_step_from(std::span<const float> from, std::span<float> to, const float* x,
                           const std::int32_t* y, int n, float lr, std::span<float> grad_scratch,
                           Workspace& ws) const {
  if (from.data() != to.data()) std::copy(from.begin(), from.end(), to.begin());
  return sgd_step(to, x, y, n, lr, grad_scratch, ws);
}

}  // namespace ledgerfl::nn
