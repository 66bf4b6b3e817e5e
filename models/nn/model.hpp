// The model interface: parameters are one flat contiguous float vector owned by the caller;
// layers are views into it. Models are immutable descriptions of an architecture, so one model
// object is shared by every client and thread; per-thread state lives in a Workspace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace ledgerfl::nn {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXf;

// Scratch memory of one model for one thread (activations, gradients of activations). Reused
// across batches and clients: no allocation in the training loop.
class Workspace {
 public:
  virtual ~Workspace() = default;
};

// One dense or convolutional layer in the flat parameter vector: its weights, its bias, and the
// fans that initialisation schemes scale by (init.hpp says how they are defined).
struct ParamLayer {
  std::size_t weight_offset = 0, weight_count = 0;
  std::size_t bias_offset = 0, bias_count = 0;
  int fan_in = 0, fan_out = 0;
};

struct EvalResult {
  double loss_sum = 0.0;  // sum over samples of the cross-entropy (natural log)
  std::int64_t correct = 0;
  std::int64_t count = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  virtual std::size_t num_params() const = 0;
  virtual int input_dim() const = 0;
  virtual int num_classes() const = 0;

  // Deterministic initialisation from a seed (the caller derives it from the run seed), with
  // the model's initialisation scheme (init.hpp).
  virtual void init(std::span<float> params, std::uint64_t seed) const = 0;
  // The layers in parameter order (what init draws, in that order).
  virtual std::vector<ParamLayer> layers() const = 0;
  // Workspace for batches of up to max_batch samples.
  virtual std::unique_ptr<Workspace> make_workspace(int max_batch) const = 0;

  // Mean cross-entropy over the n samples of the batch (x: n rows of input_dim floats, row-major;
  // y: labels in [0, num_classes)). Overwrites grad with d(mean loss)/d(params).
  virtual float loss_and_grad(std::span<const float> params, const float* x, const std::int32_t* y,
                              int n, std::span<float> grad, Workspace& ws) const = 0;
  // Loss sum and correct count over n samples (n <= max_batch of ws), no gradient.
  virtual EvalResult evaluate(std::span<const float> params, const float* x, const std::int32_t* y,
                              int n, Workspace& ws) const = 0;

  // One plain SGD step, params -= lr * d(mean loss)/d(params), returning the mean loss (added by
  // the models module; backward compatible). The default calls loss_and_grad into grad_scratch
  // (num_params floats) and applies it; models override it to update each layer inside the
  // backward pass, which saves writing and re-reading the whole gradient (the MLP step is
  // memory-bound outside its GEMMs). Same mathematics; rounding may differ from the two-pass
  // form in the last bit (fused multiply-add), and is deterministic either way.
  virtual float sgd_step(std::span<float> params, const float* x, const std::int32_t* y, int n,
                         float lr, std::span<float> grad_scratch, Workspace& ws) const;
  // The same step taken at `from`, written to `to` (to = from - lr * grad(from)): the first step
  // of local training reads the global model and writes the client's copy, so no separate copy
  // pass is needed. The default copies and calls sgd_step.
  virtual float sgd_step_from(std::span<const float> from, std::span<float> to, const float* x,
                              const std::int32_t* y, int n, float lr, std::span<float> grad_scratch,
                              Workspace& ws) const;

  // Floating-point operations of one training sample (forward + backward), for device compute
  // time and for reporting achieved GFLOP/s.
  virtual double train_flops_per_sample() const = 0;
};

}  // namespace ledgerfl::nn
