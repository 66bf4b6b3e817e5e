// Small convolutional network for side x side x 1 images (28 x 28 for Fashion-MNIST): the "CNN" of
// McMahan et al. 2017 (conv5x5(32)-pool-conv5x5(64)-pool-fc512-fc10) with configurable widths.
//
//   conv5x5(c1, same padding) - ReLU - maxpool2 - conv5x5(c2, same) - ReLU - maxpool2
//   - fc(h) - ReLU - fc(classes)
//
// Activations are stored HWC (pixel-major, channels contiguous). Convolutions run as im2col +
// GEMM; the backward pass of conv2 goes through col2im; conv1 needs no input gradient.
// Parameter layout (one flat float vector, all matrices row-major, K = 5, q = side / 4):
//   Wc1 (25 x c1)       row (ky * 5 + kx),              column = output channel
//   bc1 (c1)
//   Wc2 (25 c1 x c2)    row ((ky * 5 + kx) * c1 + ci),  column = output channel
//   bc2 (c2)
//   Wf1 (q q c2 x h)    row ((py * q + px) * c2 + c),   column = hidden unit
//   bf1 (h)
//   Wf2 (h x classes), bf2 (classes)
// FLOPs per training sample (GEMMs; forward + weight gradient + input gradient except conv1):
//   4 side^2 25 c1 + 6 (side/2)^2 25 c1 c2 + 6 q^2 c2 h + 6 h classes.
#pragma once

#include <memory>

#include "models/nn/init.hpp"
#include "models/nn/model.hpp"

namespace ledgerfl::nn {

struct CnnOptions {
  int side = 28;     // input is side x side x 1; side must be divisible by 4
  int conv1 = 16;    // McMahan et al. 2017 use 32
  int conv2 = 32;    // ... 64
  int hidden = 128;  // ... 512
  int classes = 10;
  InitScheme init = InitScheme::kHeNormal;  // fans: init.hpp (convolutions: c_in 25, c_out 25)
  void validate() const;                    // throws std::invalid_argument naming the field
};

class Cnn : public Model {
 public:
  explicit Cnn(const CnnOptions& opt);

  std::string name() const override;
  std::size_t num_params() const override { return num_params_; }
  int input_dim() const override { return o_.side * o_.side; }
  int num_classes() const override { return o_.classes; }
  void init(std::span<float> params, std::uint64_t seed) const override;
  std::vector<ParamLayer> layers() const override;
  std::unique_ptr<Workspace> make_workspace(int max_batch) const override;
  float loss_and_grad(std::span<const float> params, const float* x, const std::int32_t* y, int n,
                      std::span<float> grad, Workspace& ws) const override;
  EvalResult evaluate(std::span<const float> params, const float* x, const std::int32_t* y, int n,
                      Workspace& ws) const override;
  double train_flops_per_sample() const override;
  const CnnOptions& options() const { return o_; }

 private:
  void forward(const float* p, const float* x, int n, Workspace& ws) const;
  // Mean loss and its gradient (into g) over n <= the workspace's chunk samples.
  double chunk_grad(const float* p, const float* x, const std::int32_t* y, int n, float* g,
                    Workspace& ws) const;
  CnnOptions o_;
  std::size_t off_wc1_, off_bc1_, off_wc2_, off_bc2_, off_wf1_, off_bf1_, off_wf2_, off_bf2_;
  std::size_t num_params_ = 0;
};

std::unique_ptr<Model> make_cnn(const CnnOptions& opt = {});

}  // namespace ledgerfl::nn
