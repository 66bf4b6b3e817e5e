// Local minibatch SGD (momentum, weight decay, FedProx) and chunked evaluation.
#include "models/nn/trainer.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include <Eigen/Core>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ledgerfl::nn {
namespace {

using ArrMap = Eigen::Map<Eigen::ArrayXf>;
using CArrMap = Eigen::Map<const Eigen::ArrayXf>;

// Copies rows order[0..b) of the shard into the contiguous batch buffers.
void gather(const ShardView& data, const std::uint32_t* order, int b, float* bx, std::int32_t* by) {
  const auto dim = static_cast<std::size_t>(data.dim);
  for (int i = 0; i < b; ++i) {
    const std::uint32_t row = data.rows[order[i]];
    std::memcpy(bx + i * dim, data.features + row * dim, dim * sizeof(float));
    by[i] = data.labels[row];
  }
}

// One SGD step on the gradient already in g (PyTorch torch.optim.SGD semantics, dampening 0,
// no Nesterov): g += wd w + mu (w - w0); v = m v + g; w -= lr v.
void sgd_update(const SgdOptions& opt, ArrMap w, CArrMap w0, ArrMap g, ArrMap v) {
  if (opt.weight_decay != 0.0f) g += opt.weight_decay * w;
  if (opt.prox_mu != 0.0f) g += opt.prox_mu * (w - w0);
  if (opt.momentum != 0.0f) {
    v = opt.momentum * v + g;
    w -= opt.lr * v;
  } else {
    w -= opt.lr * g;
  }
}

}  // namespace

void TrainScratch::prepare(const Model& m, int batch) {
  const std::size_t np = m.num_params();
  if (grad.size() < np) grad.resize(np);
  if (velocity.size() < np) velocity.resize(np);
  const auto bx = static_cast<std::size_t>(batch) * static_cast<std::size_t>(m.input_dim());
  if (batch_x.size() < bx) batch_x.resize(bx);
  if (batch_y.size() < static_cast<std::size_t>(batch)) batch_y.resize(batch);
  if (ws == nullptr || ws_model != &m || ws_batch < batch) {
    ws = m.make_workspace(batch);
    ws_model = &m;
    ws_batch = batch;
  }
}

TrainResult train_local(const Model& model, std::span<float> params, std::span<const float> global,
                        const ShardView& data, const SgdOptions& opt,
                        const std::function<void(std::span<std::uint32_t>)>& shuffle,
                        TrainScratch& scratch) {
  const std::size_t np = model.num_params();
  if (params.size() != np || global.size() != np)
    throw std::invalid_argument("train_local: parameter vectors do not match the model");
  if (data.dim != model.input_dim())
    throw std::invalid_argument("train_local: data dimension does not match the model");
  if (opt.batch <= 0) throw std::invalid_argument("train_local: batch must be > 0");
  if (opt.prox_mu != 0.0f && params.data() == global.data())
    throw std::invalid_argument("train_local: FedProx needs params distinct from global");
  // Plain SGD lets the model apply the update inside its backward pass (Model::sgd_step), and
  // the first step reads `global` and writes `params` (Model::sgd_step_from), which saves a
  // separate copy pass over the parameters.
  const bool plain = opt.momentum == 0.0f && opt.weight_decay == 0.0f && opt.prox_mu == 0.0f;
  const std::size_t n = data.rows.size();
  const bool any_step = n > 0 && (opt.steps > 0 || opt.epochs > 0);
  bool params_ready = !(plain && any_step);  // params hold the starting point yet?
  if (params_ready && params.data() != global.data())
    std::copy(global.begin(), global.end(), params.begin());

  TrainResult res;
  if (n == 0) return res;
  const int batch = static_cast<int>(std::min<std::size_t>(opt.batch, n));
  scratch.prepare(model, batch);
  if (scratch.order.size() < n) scratch.order.resize(n);
  std::span<std::uint32_t> order(scratch.order.data(), n);
  if (opt.momentum != 0.0f) std::fill_n(scratch.velocity.begin(), np, 0.0f);

  ArrMap w(params.data(), static_cast<Eigen::Index>(np));
  CArrMap w0(global.data(), static_cast<Eigen::Index>(np));
  ArrMap g(scratch.grad.data(), static_cast<Eigen::Index>(np));
  ArrMap v(scratch.velocity.data(), static_cast<Eigen::Index>(np));
  std::span<float> grad(scratch.grad.data(), np);
  float* bx = scratch.batch_x.data();
  std::int32_t* by = scratch.batch_y.data();
  Workspace& ws = *scratch.ws;
  double loss_sum = 0.0;

  auto new_pass = [&] {
    std::iota(order.begin(), order.end(), 0u);
    shuffle(order);
  };
  auto update = [&](int b) {
    if (plain && !params_ready) {
      loss_sum += model.sgd_step_from(global, params, bx, by, b, opt.lr, grad, ws);
      params_ready = true;
    } else if (plain) {
      loss_sum += model.sgd_step(params, bx, by, b, opt.lr, grad, ws);
    } else {
      loss_sum += model.loss_and_grad(params, bx, by, b, grad, ws);
      sgd_update(opt, w, w0, g, v);
    }
    ++res.steps;
    res.examples += b;
  };
  auto step = [&](const std::uint32_t* idx, int b) {
    gather(data, idx, b, bx, by);
    update(b);
  };

  if (opt.steps > 0) {
    // Fixed number of full batches; a pass that runs out wraps around with a fresh shuffle.
    // Each step's batch is gathered in pieces when it straddles two passes.
    std::size_t pos = n;
    for (std::int64_t t = 0; t < opt.steps; ++t) {
      int filled = 0;
      while (filled < batch) {
        if (pos == n) {
          new_pass();
          pos = 0;
        }
        const int take = static_cast<int>(std::min<std::size_t>(batch - filled, n - pos));
        gather(data, order.data() + pos, take, bx + static_cast<std::size_t>(filled) * data.dim,
               by + filled);
        filled += take;
        pos += take;
      }
      update(batch);
    }
  } else {
    for (int e = 0; e < opt.epochs; ++e) {
      new_pass();
      for (std::size_t s = 0; s < n; s += batch)
        step(order.data() + s, static_cast<int>(std::min<std::size_t>(batch, n - s)));
    }
  }
  res.mean_loss = res.steps > 0 ? loss_sum / static_cast<double>(res.steps) : 0.0;
  return res;
}

TrainResult train_local_delta(const Model& model, std::span<float> delta,
                              std::span<const float> global, const ShardView& data,
                              const SgdOptions& opt,
                              const std::function<void(std::span<std::uint32_t>)>& shuffle,
                              TrainScratch& scratch, const DeltaChunkFn& on_chunk) {
  const std::size_t np = model.num_params();
  if (delta.size() != np || global.size() != np)
    throw std::invalid_argument("train_local_delta: vectors do not match the model");
  if (scratch.work.size() < np) scratch.work.resize(np);
  std::span<float> w(scratch.work.data(), np);
  TrainResult res = train_local(model, w, global, data, opt, shuffle, scratch);
  res.delta_sq_norm =
      on_chunk ? write_delta_chunked(delta, w, global, on_chunk) : write_delta(delta, w, global);
  return res;
}

double write_delta_chunked(std::span<float> out, std::span<const float> trained,
                           std::span<const float> global, const DeltaChunkFn& on_chunk) {
  const std::size_t n = out.size();
  if (trained.size() != n || global.size() != n)
    throw std::invalid_argument("write_delta_chunked: sizes differ");
  double sq = 0.0;
  // The norm is accumulated exactly as write_delta does: by index blocks of 16 (float within a
  // block, then double, in order) over the first 16 floor(n / 16) entries where write_delta
  // takes its vector path, one entry at a time after that.
#if defined(__AVX512F__)
  const std::size_t vec_end = n / 16 >= 2 ? 16 * (n / 16) : 0;
#else
  const std::size_t vec_end = 0;
#endif
  // Each chunk is computed into a 16 KB buffer that stays in L1, handed to on_chunk there, then
  // streamed to `out` (non-temporal stores where `out` is 64-byte aligned: no read for
  // ownership of 800 KB that will not be read again soon).
  alignas(64) thread_local float buf[kDeltaChunk];
  for (std::size_t lo = 0; lo < n; lo += kDeltaChunk) {
    const std::size_t hi = std::min(n, lo + kDeltaChunk);
    std::size_t i = lo;
#if defined(__AVX512F__)
    for (; i + 16 <= hi && i + 16 <= vec_end; i += 16) {
      const __m512 d =
          _mm512_sub_ps(_mm512_loadu_ps(trained.data() + i), _mm512_loadu_ps(global.data() + i));
      sq += static_cast<double>(_mm512_reduce_add_ps(_mm512_mul_ps(d, d)));
      _mm512_store_ps(buf + (i - lo), d);
    }
#endif
    for (; i < hi; ++i) {
      const float d = trained[i] - global[i];
      buf[i - lo] = d;
      sq += static_cast<double>(d) * d;
    }
    const std::size_t len = hi - lo;
    on_chunk(std::span<const float>(buf, len));
    std::size_t j = 0;
#if defined(__AVX512F__)
    if (reinterpret_cast<std::uintptr_t>(out.data() + lo) % 64 == 0)
      for (; j + 16 <= len; j += 16) _mm512_stream_ps(out.data() + lo + j, _mm512_load_ps(buf + j));
#endif
    std::copy(buf + j, buf + len, out.data() + lo + j);
  }
#if defined(__AVX512F__)
  _mm_sfence();  // publish the streaming stores before returning
#endif
  return sq;
}

double write_delta(std::span<float> out, std::span<const float> trained,
                   std::span<const float> global) {
  const std::size_t n = out.size();
  if (trained.size() != n || global.size() != n)
    throw std::invalid_argument("write_delta: sizes differ");
  double sq = 0.0;
  std::size_t done = 0;  // out[0, done) written
#if defined(__AVX512F__)
  // The norm is summed by index blocks of 16 (float within a block, then double, in order), so it
  // does not depend on where `out` happens to be aligned. The stores are streaming (no read for
  // ownership of a buffer that will not be read before it leaves the cache); they need 64-byte
  // aligned addresses, so the blocks are realigned with a two-source permute when `out` is not.
  const std::size_t nb = n / 16;
  if (nb >= 2) {
    const auto addr = reinterpret_cast<std::uintptr_t>(out.data());
    if (addr % 4 == 0) {
      const std::size_t h = ((64 - addr % 64) % 64) / 4;  // floats before the first aligned one
      const __m512i idx =
          _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                           _mm512_set1_epi32(static_cast<int>(h)));
      __m512 prev = _mm512_setzero_ps();
      for (std::size_t b = 0; b < nb; ++b) {
        const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(trained.data() + 16 * b),
                                       _mm512_loadu_ps(global.data() + 16 * b));
        sq += static_cast<double>(_mm512_reduce_add_ps(_mm512_mul_ps(d, d)));
        if (h == 0) {
          _mm512_stream_ps(out.data() + 16 * b, d);
        } else if (b == 0) {
          _mm512_mask_storeu_ps(out.data(), static_cast<__mmask16>((1u << h) - 1u), d);
        } else {
          _mm512_stream_ps(out.data() + h + 16 * (b - 1), _mm512_permutex2var_ps(prev, idx, d));
        }
        prev = d;
      }
      _mm_sfence();  // streaming stores are weakly ordered: publish them before returning
      for (std::size_t i = h == 0 ? 16 * nb : h + 16 * (nb - 1); i < 16 * nb; ++i)
        out[i] = trained[i] - global[i];
      done = 16 * nb;  // and their squares are in sq
    }
  }
#endif
  for (std::size_t i = done; i < n; ++i) {
    const float d = trained[i] - global[i];
    out[i] = d;
    sq += static_cast<double>(d) * d;
  }
  return sq;
}

EvalResult evaluate_all(const Model& model, std::span<const float> params, const ShardView& data,
                        int chunk, TrainScratch& scratch) {
  if (chunk <= 0) throw std::invalid_argument("evaluate_all: chunk must be > 0");
  if (data.dim != model.input_dim())
    throw std::invalid_argument("evaluate_all: data dimension does not match the model");
  const std::size_t n = data.rows.size();
  EvalResult total;
  if (n == 0) return total;
  const int b = static_cast<int>(std::min<std::size_t>(chunk, n));
  scratch.prepare(model, b);
  const auto dim = static_cast<std::size_t>(data.dim);
  for (std::size_t s = 0; s < n; s += b) {
    const int len = static_cast<int>(std::min<std::size_t>(b, n - s));
    const std::uint32_t* rows = data.rows.data() + s;
    // A run of consecutive rows is read in place; otherwise it is gathered.
    const bool contiguous =
        rows[len - 1] - rows[0] == static_cast<std::uint32_t>(len - 1) &&
        std::adjacent_find(rows, rows + len, [](std::uint32_t a, std::uint32_t c) {
          return c != a + 1;
        }) == rows + len;
    EvalResult r;
    if (contiguous) {
      r = model.evaluate(params, data.features + rows[0] * dim, data.labels + rows[0], len,
                         *scratch.ws);
    } else {
      for (int i = 0; i < len; ++i) {
        std::memcpy(scratch.batch_x.data() + i * dim, data.features + rows[i] * dim,
                    dim * sizeof(float));
        scratch.batch_y[i] = data.labels[rows[i]];
      }
      r = model.evaluate(params, scratch.batch_x.data(), scratch.batch_y.data(), len, *scratch.ws);
    }
    total.loss_sum += r.loss_sum;
    total.correct += r.correct;
    total.count += r.count;
  }
  return total;
}

}  // namespace ledgerfl::nn
