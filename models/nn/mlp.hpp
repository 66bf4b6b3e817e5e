// Multilayer perceptron with ReLU hidden layers and a softmax cross-entropy output; the "2NN" of
// McMahan et al. 2017 is Mlp(784, {200, 200}, 10). Softmax regression is the zero-hidden case.
//
// Parameter layout (one flat float vector), for layer l = 1..L with widths d0 = input_dim,
// d1..d_{L-1} = hidden, d_L = classes:
//   [W1 (d0 x d1, row-major: W1[i * d1 + j] maps input i to unit j), b1 (d1), W2 (d1 x d2), b2,
//    ..., WL, bL]
// Forward: z_l = a_{l-1} W_l + b_l, a_l = relu(z_l) (hidden), logits = z_L.
// FLOPs per training sample (GEMMs only, the usual 6P rule minus the input gradient of layer 1):
//   sum_l 4 d_{l-1} d_l + sum_{l>1} 2 d_{l-1} d_l.
#pragma once

#include <memory>
#include <vector>

#include "models/nn/init.hpp"
#include "models/nn/model.hpp"

namespace ledgerfl::nn {

class Mlp : public Model {
 public:
  Mlp(int input_dim, std::vector<int> hidden, int classes, InitScheme init = InitScheme::kHeNormal);

  std::string name() const override;
  std::size_t num_params() const override { return num_params_; }
  int input_dim() const override { return dims_.front(); }
  int num_classes() const override { return dims_.back(); }
  void init(std::span<float> params, std::uint64_t seed) const override;
  std::vector<ParamLayer> layers() const override;
  InitScheme init_scheme() const { return init_; }
  std::unique_ptr<Workspace> make_workspace(int max_batch) const override;
  float loss_and_grad(std::span<const float> params, const float* x, const std::int32_t* y, int n,
                      std::span<float> grad, Workspace& ws) const override;
  EvalResult evaluate(std::span<const float> params, const float* x, const std::int32_t* y, int n,
                      Workspace& ws) const override;
  float sgd_step(std::span<float> params, const float* x, const std::int32_t* y, int n, float lr,
                 std::span<float> grad_scratch, Workspace& ws) const override;
  float sgd_step_from(std::span<const float> from, std::span<float> to, const float* x,
                      const std::int32_t* y, int n, float lr, std::span<float> grad_scratch,
                      Workspace& ws) const override;
  double train_flops_per_sample() const override;

  const std::vector<int>& dims() const { return dims_; }  // {input, hidden..., classes}
  std::size_t weight_offset(int layer) const { return w_off_[layer]; }  // layer 0-based
  std::size_t bias_offset(int layer) const { return b_off_[layer]; }

 private:
  void forward(const float* p, const float* x, int n, Workspace& ws) const;
  // Forward and backward at p. With p_mut == nullptr writes the gradient into g; otherwise
  // writes p_mut = p - lr * gradient layer by layer (p_mut may equal p: each W_l is used for the
  // next delta before it changes).
  float backward(float* p_mut, const float* p, const float* x, const std::int32_t* y, int n,
                 float* g, float lr, Workspace& ws) const;
  std::vector<int> dims_;
  std::vector<std::size_t> w_off_, b_off_;
  std::size_t num_params_ = 0;
  InitScheme init_ = InitScheme::kHeNormal;
};

std::unique_ptr<Model> make_mlp(int input_dim, std::vector<int> hidden, int classes,
                                InitScheme init = InitScheme::kHeNormal);

}  // namespace ledgerfl::nn
