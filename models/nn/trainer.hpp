// Local training: E epochs (or a fixed number of steps) of minibatch SGD with optional momentum,
// weight decay and the FedProx proximal term (Li et al. 2020, "Federated Optimization in
// Heterogeneous Networks", eq. 2: h(w) = F(w) + mu/2 ||w - w_global||^2).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "models/nn/model.hpp"

namespace ledgerfl::nn {

struct SgdOptions {
  float lr = 0.05f;
  float momentum = 0.0f;      // heavy-ball momentum (PyTorch convention: v = m v + g; w -= lr v)
  float weight_decay = 0.0f;  // L2, added to the gradient
  float prox_mu = 0.0f;       // FedProx mu; 0 = plain SGD
  int batch = 32;
  int epochs = 1;          // used when steps == 0
  std::int64_t steps = 0;  // > 0: fixed number of minibatch steps instead of epochs
};

// Reusable per-thread buffers (gradient, momentum, gathered batch, model workspace).
struct TrainScratch {
  std::vector<float> grad, velocity, batch_x;
  std::vector<float> work;  // parameters being trained by train_local_delta (hot in cache)
  std::vector<std::int32_t> batch_y;
  std::vector<std::uint32_t> order;
  std::unique_ptr<Workspace> ws;
  const Model* ws_model = nullptr;
  int ws_batch = 0;
  void prepare(const Model& m, int batch);  // (re)allocates only when the shape grows
};

struct TrainResult {
  double mean_loss = 0.0;  // mean of the minibatch losses seen during training
  std::int64_t steps = 0;
  std::int64_t examples = 0;   // samples processed (with repetition over epochs)
  double delta_sq_norm = 0.0;  // ||trained - global||^2, set by train_local_delta only
};

// A client's local data: rows of a row-major float matrix (features) and their labels.
// `rows` selects the client's samples; the matrix is shared read-only by everyone.
struct ShardView {
  const float* features = nullptr;  // base of the shared matrix
  const std::int32_t* labels = nullptr;
  int dim = 0;
  std::span<const std::uint32_t> rows;
};

// Trains `params` starting from `global` (train_local sets params = global itself; the caller
// need not copy). `shuffle` is called once per epoch (and once per pass in steps mode) with the
// identity order 0..n-1 to permute; the caller supplies it from its own keyed random stream, so
// this library stays free of the simulator's RNG. Epochs mode: batches of `batch` rows, the last
// partial batch included. Steps mode: `steps` batches of min(batch, n) rows; a batch that runs
// past the end of a pass continues on a freshly shuffled pass. No allocation once `scratch` has
// seen the model and batch size.
TrainResult train_local(const Model& model, std::span<float> params, std::span<const float> global,
                        const ShardView& data, const SgdOptions& opt,
                        const std::function<void(std::span<std::uint32_t>)>& shuffle,
                        TrainScratch& scratch);

// The same training, but writes the update delta = trained - global (what aggregators consume)
// and its squared norm. The parameters are trained in scratch.work, which stays in cache from
// one client to the next, and the delta is written once with streaming stores: for a round of
// 100 clients x 800 KB this saves two passes over memory per client compared with copying
// global into a fresh buffer, training there and subtracting afterwards. Same arithmetic as
// train_local (bit-identical trained parameters).
// With `on_chunk`, the delta is written in consecutive chunks of kDeltaChunk floats with
// ordinary stores and each chunk is handed to on_chunk while it is in L1 (the contract hashes
// the update there, in one pass instead of re-reading 800 KB from memory); same values and the
// same norm, bit for bit.
using DeltaChunkFn = std::function<void(std::span<const float>)>;
inline constexpr std::size_t kDeltaChunk = 4096;  // 16 KB
TrainResult train_local_delta(const Model& model, std::span<float> delta,
                              std::span<const float> global, const ShardView& data,
                              const SgdOptions& opt,
                              const std::function<void(std::span<std::uint32_t>)>& shuffle,
                              TrainScratch& scratch, const DeltaChunkFn& on_chunk = {});

// out = trained - global (streaming stores where available); returns ||out||^2 summed in a
// fixed order.
double write_delta(std::span<float> out, std::span<const float> trained,
                   std::span<const float> global);
// The same in chunks handed to on_chunk (see train_local_delta); the same sum.
double write_delta_chunked(std::span<float> out, std::span<const float> trained,
                           std::span<const float> global, const DeltaChunkFn& on_chunk);

// Loss/accuracy of params over all rows of a data set, in chunks of ws's batch. Deterministic
// (fixed chunk order, double sums).
EvalResult evaluate_all(const Model& model, std::span<const float> params, const ShardView& data,
                        int chunk, TrainScratch& scratch);

}  // namespace ledgerfl::nn
