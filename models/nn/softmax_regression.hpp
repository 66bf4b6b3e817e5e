// Multinomial logistic regression (softmax regression): logits = x W + b, W input_dim x classes
// row-major, then b (classes). It is the Mlp with no hidden layer, so it shares its kernels.
// FLOPs per training sample: 4 * input_dim * classes (forward + weight gradient).
// Initialisation: one dense layer, fan_in = input_dim, fan_out = classes (init.hpp).
#pragma once

#include <memory>

#include "models/nn/mlp.hpp"

namespace ledgerfl::nn {

class SoftmaxRegression : public Mlp {
 public:
  SoftmaxRegression(int input_dim, int classes, InitScheme init = InitScheme::kHeNormal)
      : Mlp(input_dim, {}, classes, init) {}
  std::string name() const override;
};

std::unique_ptr<Model> make_softmax_regression(int input_dim, int classes,
                                               InitScheme init = InitScheme::kHeNormal);

}  // namespace ledgerfl::nn
