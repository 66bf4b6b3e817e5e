// Shared kernels of the models: stable softmax cross-entropy, Eigen views.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

#include <Eigen/Core>

#include "models/nn/model.hpp"

namespace ledgerfl::nn::detail {

using MatMap = Eigen::Map<Matrix>;
using CMatMap = Eigen::Map<const Matrix>;
using RowVecMap = Eigen::Map<Eigen::RowVectorXf>;
using CRowVecMap = Eigen::Map<const Eigen::RowVectorXf>;

// Turns logits (n x C, row-major) into d(mean CE)/d(logits) in place and returns the summed loss.
// log-softmax is computed as z - max - log(sum exp(z - max)), stable for any logit range.
inline double softmax_xent_backward(float* logits, const std::int32_t* y, int n, int classes) {
  double loss = 0.0;
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int i = 0; i < n; ++i) {
    float* z = logits + static_cast<std::ptrdiff_t>(i) * classes;
    float m = z[0];
    for (int c = 1; c < classes; ++c) m = z[c] > m ? z[c] : m;
    const float zy = z[y[i]] - m;
    float s = 0.0f;
    for (int c = 0; c < classes; ++c) {
      z[c] = std::exp(z[c] - m);
      s += z[c];
    }
    const float lse = std::log(s);
    // loss_i = -log softmax(z)_y = lse - (z_y - m); never log(0), even for hugely negative z_y.
    const float inv_s = 1.0f / s;
    const float p_y = z[y[i]] * inv_s;
    loss += static_cast<double>(lse) - static_cast<double>(zy);
    for (int c = 0; c < classes; ++c) z[c] = z[c] * inv_s * inv_n;
    z[y[i]] = (p_y - 1.0f) * inv_n;
  }
  return loss;
}

// Loss sum and correct count of logits (n x C) without gradient. Ties in argmax go to the
// lowest class index.
inline void softmax_xent_eval(const float* logits, const std::int32_t* y, int n, int classes,
                              EvalResult& r) {
  for (int i = 0; i < n; ++i) {
    const float* z = logits + static_cast<std::ptrdiff_t>(i) * classes;
    int arg = 0;
    float m = z[0];
    for (int c = 1; c < classes; ++c)
      if (z[c] > m) {
        m = z[c];
        arg = c;
      }
    double s = 0.0;
    for (int c = 0; c < classes; ++c) s += std::exp(static_cast<double>(z[c] - m));
    r.loss_sum += std::log(s) - static_cast<double>(z[y[i]] - m);
    r.correct += (arg == y[i]) ? 1 : 0;
  }
  r.count += n;
}

}  // namespace ledgerfl::nn::detail
