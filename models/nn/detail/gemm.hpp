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

// c (k x m) = c_in + alpha * x^T d (c_in == nullptr: 0), with x (n x k), d (n x m) row-major:
// the weight gradient (c_in = nullptr, alpha = 1) or the fused SGD update (c_in = the weights
// before the step, alpha = -lr); c_in may equal c.
void dense_weight_update(float* c, const float* c_in, int k, int m, const float* x, const float* d,
                         int n, float alpha);

}  // namespace ledgerfl::nn::detail
