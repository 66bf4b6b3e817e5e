// Unpacked GEMM kernels for the dense layers' two big products, reading the row-major weights in
// place. Eigen packs both operands of every product; for the MLP's batch sizes (10-32 rows
// against a 784 x 200 weight matrix) packing the weights costs 6-15% of a training step, and the
// weights change after every step, so a packed copy cannot be kept. With AVX-512 these kernels
// use register tiles of 8 rows x 48 columns; without it they fall back to Eigen.
#pragma once

namespace ledgerfl::nn::detail {

// z (n x m) = x (n x k) * w (k x m) + b, then ReLU if relu; all row-major with leading
// dimensions equal to the column counts.
void dense_forward(const float* x, int n, int k, const float* w, int m, const float* b, float* z,
                   bool relu);

// c (k x m) = (accumulate ? c : 0) + alpha * x^T d, with x (n x k), d (n x m) row-major: the
// weight gradient (alpha = 1, accumulate = false) or the fused SGD update (alpha = -lr,
// accumulate = true) of a dense layer.
void dense_weight_update(float* c, int k, int m, const float* x, const float* d, int n, float alpha,
                         bool accumulate);

}  // namespace ledgerfl::nn::detail
