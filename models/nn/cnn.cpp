// Cnn: im2col + GEMM convolutions, max pooling with stored argmax, col2im backward.
#include "models/nn/cnn.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/nn/detail/ops.hpp"

namespace ledgerfl::nn {
namespace {

using detail::CMatMap;
using detail::CRowVecMap;
using detail::MatMap;
using detail::RowVecMap;

constexpr int kK = 5;    // kernel side
constexpr int kPad = 2;  // "same" padding

// Samples per pass through the buffers: im2col of conv2 takes 100 c1 floats per pixel (1.25 MiB
// per sample at c1 = 32), so larger batches (evaluation chunks) are processed in pieces.
constexpr int kMaxChunk = 64;

struct CnnWorkspace final : Workspace {
  int max_batch = 0;          // what the caller may pass
  int chunk = 0;              // what the buffers hold
  std::vector<float> gchunk;  // gradient of one piece when a batch exceeds `chunk`
  std::vector<float> cols1, a1, p1, cols2, a2, p2, h, logits, dp1, dp2, da, dh;
  std::vector<std::int32_t> idx1, idx2;
};

CnnWorkspace& cast_ws(Workspace& ws) {
  auto* w = dynamic_cast<CnnWorkspace*>(&ws);
  if (w == nullptr) throw std::invalid_argument("Cnn: workspace of another model");
  return *w;
}

// im2col for a 5x5 "same" convolution of n images side x side x c (HWC): one row per output
// pixel, columns ordered (ky, kx, channel); padding reads as zero.
void im2col(const float* in, int n, int side, int c, float* cols) {
  const std::size_t row_len = static_cast<std::size_t>(kK) * kK * c;
  for (int i = 0; i < n; ++i)
    for (int oy = 0; oy < side; ++oy)
      for (int ox = 0; ox < side; ++ox) {
        float* r = cols + ((static_cast<std::size_t>(i) * side + oy) * side + ox) * row_len;
        for (int ky = 0; ky < kK; ++ky) {
          const int iy = oy + ky - kPad;
          for (int kx = 0; kx < kK; ++kx, r += c) {
            const int ix = ox + kx - kPad;
            if (iy < 0 || iy >= side || ix < 0 || ix >= side) {
              std::fill_n(r, c, 0.0f);
            } else {
              const float* src = in + ((static_cast<std::size_t>(i) * side + iy) * side + ix) * c;
              std::copy_n(src, c, r);
            }
          }
        }
      }
}

// Adjoint of im2col: accumulates the column gradients back onto the image gradient.
void col2im(const float* cols, int n, int side, int c, float* out) {
  std::fill_n(out, static_cast<std::size_t>(n) * side * side * c, 0.0f);
  const std::size_t row_len = static_cast<std::size_t>(kK) * kK * c;
  for (int i = 0; i < n; ++i)
    for (int oy = 0; oy < side; ++oy)
      for (int ox = 0; ox < side; ++ox) {
        const float* r = cols + ((static_cast<std::size_t>(i) * side + oy) * side + ox) * row_len;
        for (int ky = 0; ky < kK; ++ky) {
          const int iy = oy + ky - kPad;
          for (int kx = 0; kx < kK; ++kx, r += c) {
            const int ix = ox + kx - kPad;
            if (iy < 0 || iy >= side || ix < 0 || ix >= side) continue;
            float* dst = out + ((static_cast<std::size_t>(i) * side + iy) * side + ix) * c;
            for (int ch = 0; ch < c; ++ch) dst[ch] += r[ch];
          }
        }
      }
}

// z (rows x c) += bias, then ReLU, in place.
void bias_relu(float* z, std::size_t rows, int c, const float* b) {
  MatMap m(z, static_cast<Eigen::Index>(rows), c);
  CRowVecMap bv(b, c);
  for (Eigen::Index i = 0; i < m.rows(); ++i) m.row(i) = (m.row(i) + bv).cwiseMax(0.0f);
}

// 2x2 max pooling, stride 2, of n images side x side x c (HWC); idx gets the flat input index of
// each maximum (first one on ties).
void maxpool2(const float* in, int n, int side, int c, float* out, std::int32_t* idx) {
  const int half = side / 2;
  for (int i = 0; i < n; ++i)
    for (int py = 0; py < half; ++py)
      for (int px = 0; px < half; ++px) {
        const std::size_t o = ((static_cast<std::size_t>(i) * half + py) * half + px) * c;
        for (int ch = 0; ch < c; ++ch) {
          float best = -std::numeric_limits<float>::infinity();
          std::int32_t arg = 0;
          for (int dy = 0; dy < 2; ++dy)
            for (int dx = 0; dx < 2; ++dx) {
              const auto j = static_cast<std::int32_t>(
                  ((static_cast<std::size_t>(i) * side + 2 * py + dy) * side + 2 * px + dx) * c +
                  ch);
              if (in[j] > best) {
                best = in[j];
                arg = j;
              }
            }
          out[o + ch] = best;
          idx[o + ch] = arg;
        }
      }
}

// Routes pooled gradients back to the argmax positions, times relu'(activation).
void unpool_relu(const float* dpool, const std::int32_t* idx, std::size_t pooled, const float* act,
                 float* dact, std::size_t full) {
  std::fill_n(dact, full, 0.0f);
  for (std::size_t j = 0; j < pooled; ++j)
    if (act[idx[j]] > 0.0f) dact[idx[j]] = dpool[j];
}

void colsum(const float* d, std::size_t rows, int c, float* out) {
  RowVecMap o(out, c);
  CMatMap m(d, static_cast<Eigen::Index>(rows), c);
  o.setZero();
  for (Eigen::Index i = 0; i < m.rows(); ++i) o += m.row(i);
}

}  // namespace

void CnnOptions::validate() const {
  if (side <= 0 || side % 4 != 0)
    throw std::invalid_argument("cnn.side = " + std::to_string(side) +
                                " must be a positive multiple of 4");
  if (conv1 <= 0) throw std::invalid_argument("cnn.conv1 must be > 0");
  if (conv2 <= 0) throw std::invalid_argument("cnn.conv2 must be > 0");
  if (hidden <= 0) throw std::invalid_argument("cnn.hidden must be > 0");
  if (classes <= 1) throw std::invalid_argument("cnn.classes must be > 1");
  if (static_cast<std::size_t>(init) >= kInitSchemeNames.size())
    throw std::invalid_argument("cnn.init is not an InitScheme");
}

Cnn::Cnn(const CnnOptions& opt) : o_(opt) {
  o_.validate();
  const std::size_t q = static_cast<std::size_t>(o_.side / 4);
  std::size_t off = 0;
  auto take = [&](std::size_t count) {
    const std::size_t at = off;
    off += count;
    return at;
  };
  off_wc1_ = take(25u * o_.conv1);
  off_bc1_ = take(o_.conv1);
  off_wc2_ = take(25u * o_.conv1 * o_.conv2);
  off_bc2_ = take(o_.conv2);
  off_wf1_ = take(q * q * o_.conv2 * o_.hidden);
  off_bf1_ = take(o_.hidden);
  off_wf2_ = take(static_cast<std::size_t>(o_.hidden) * o_.classes);
  off_bf2_ = take(o_.classes);
  num_params_ = off;
}

std::string Cnn::name() const {
  std::string s = "cnn";
  for (int v : {o_.conv1, o_.conv2, o_.hidden, o_.classes}) {
    s += '-';
    s += std::to_string(v);
  }
  return s;
}

void Cnn::init(std::span<float> params, std::uint64_t seed) const {
  if (params.size() != num_params_) throw std::invalid_argument("Cnn::init: wrong size");
  init_layers(layers(), o_.init, params, seed);
}

std::vector<ParamLayer> Cnn::layers() const {
  const int q = o_.side / 4;
  const auto sz = [](int a, int b) {
    return static_cast<std::size_t>(a) * static_cast<std::size_t>(b);
  };
  return {
      {off_wc1_, sz(25, o_.conv1), off_bc1_, sz(1, o_.conv1), 25, 25 * o_.conv1},
      {off_wc2_, sz(25 * o_.conv1, o_.conv2), off_bc2_, sz(1, o_.conv2), 25 * o_.conv1,
       25 * o_.conv2},
      {off_wf1_, sz(q * q * o_.conv2, o_.hidden), off_bf1_, sz(1, o_.hidden), q * q * o_.conv2,
       o_.hidden},
      {off_wf2_, sz(o_.hidden, o_.classes), off_bf2_, sz(1, o_.classes), o_.hidden, o_.classes},
  };
}

std::unique_ptr<Workspace> Cnn::make_workspace(int max_batch) const {
  auto ws = std::make_unique<CnnWorkspace>();
  ws->max_batch = max_batch;
  ws->chunk = std::min(max_batch, kMaxChunk);
  if (max_batch > ws->chunk) ws->gchunk.resize(num_params_);
  const std::size_t n = static_cast<std::size_t>(ws->chunk);
  const std::size_t s = o_.side, h2 = s / 2, q = s / 4;
  ws->cols1.resize(n * s * s * 25);
  ws->a1.resize(n * s * s * o_.conv1);
  ws->p1.resize(n * h2 * h2 * o_.conv1);
  ws->idx1.resize(ws->p1.size());
  ws->cols2.resize(n * h2 * h2 * 25 * o_.conv1);
  ws->a2.resize(n * h2 * h2 * o_.conv2);
  ws->p2.resize(n * q * q * o_.conv2);
  ws->idx2.resize(ws->p2.size());
  ws->h.resize(n * o_.hidden);
  ws->logits.resize(n * o_.classes);
  ws->dp1.resize(ws->p1.size());
  ws->da.resize(std::max(ws->a1.size(), ws->a2.size()));
  ws->dp2.resize(ws->p2.size());
  ws->dh.resize(ws->h.size());
  return ws;
}

void Cnn::forward(const float* p, const float* x, int n, Workspace& wsb) const {
  auto& ws = cast_ws(wsb);
  const int s = o_.side, h2 = s / 2, q = s / 4, c1 = o_.conv1, c2 = o_.conv2;
  const std::size_t pix1 = static_cast<std::size_t>(n) * s * s;
  const std::size_t pix2 = static_cast<std::size_t>(n) * h2 * h2;
  im2col(x, n, s, 1, ws.cols1.data());
  MatMap(ws.a1.data(), pix1, c1).noalias() =
      CMatMap(ws.cols1.data(), pix1, 25) * CMatMap(p + off_wc1_, 25, c1);
  bias_relu(ws.a1.data(), pix1, c1, p + off_bc1_);
  maxpool2(ws.a1.data(), n, s, c1, ws.p1.data(), ws.idx1.data());
  im2col(ws.p1.data(), n, h2, c1, ws.cols2.data());
  MatMap(ws.a2.data(), pix2, c2).noalias() =
      CMatMap(ws.cols2.data(), pix2, 25 * c1) * CMatMap(p + off_wc2_, 25 * c1, c2);
  bias_relu(ws.a2.data(), pix2, c2, p + off_bc2_);
  maxpool2(ws.a2.data(), n, h2, c2, ws.p2.data(), ws.idx2.data());
  const int f = q * q * c2;
  MatMap(ws.h.data(), n, o_.hidden).noalias() =
      CMatMap(ws.p2.data(), n, f) * CMatMap(p + off_wf1_, f, o_.hidden);
  bias_relu(ws.h.data(), n, o_.hidden, p + off_bf1_);
  MatMap lg(ws.logits.data(), n, o_.classes);
  lg.noalias() = CMatMap(ws.h.data(), n, o_.hidden) * CMatMap(p + off_wf2_, o_.hidden, o_.classes);
  CRowVecMap b2(p + off_bf2_, o_.classes);
  for (int i = 0; i < n; ++i) lg.row(i) += b2;
}

float Cnn::loss_and_grad(std::span<const float> params, const float* x, const std::int32_t* y,
                         int n, std::span<float> grad, Workspace& wsb) const {
  auto& ws = cast_ws(wsb);
  if (n <= 0 || n > ws.max_batch) throw std::invalid_argument("Cnn: batch exceeds workspace");
  if (params.size() != num_params_ || grad.size() != num_params_)
    throw std::invalid_argument("Cnn: parameter/gradient size mismatch");
  if (n <= ws.chunk) return static_cast<float>(chunk_grad(params.data(), x, y, n, grad.data(), ws));
  // Mean over the batch = size-weighted mean of the pieces' means.
  double loss = 0.0;
  for (int s = 0; s < n; s += ws.chunk) {
    const int b = std::min(ws.chunk, n - s);
    float* g = s == 0 ? grad.data() : ws.gchunk.data();
    loss += b * chunk_grad(params.data(), x + static_cast<std::ptrdiff_t>(s) * input_dim(), y + s,
                           b, g, ws);
    const float w = static_cast<float>(b) / static_cast<float>(n);
    if (s == 0) {
      for (std::size_t i = 0; i < num_params_; ++i) grad[i] *= w;
    } else {
      for (std::size_t i = 0; i < num_params_; ++i) grad[i] += w * ws.gchunk[i];
    }
  }
  return static_cast<float>(loss / n);
}

double Cnn::chunk_grad(const float* p, const float* x, const std::int32_t* y, int n, float* g,
                       Workspace& wsb) const {
  auto& ws = cast_ws(wsb);
  forward(p, x, n, ws);
  const double loss = detail::softmax_xent_backward(ws.logits.data(), y, n, o_.classes);
  const int s = o_.side, h2 = s / 2, q = s / 4, c1 = o_.conv1, c2 = o_.conv2, hd = o_.hidden;
  const int f = q * q * c2;
  const std::size_t pix1 = static_cast<std::size_t>(n) * s * s;
  const std::size_t pix2 = static_cast<std::size_t>(n) * h2 * h2;

  // fc2
  CMatMap dlog(ws.logits.data(), n, o_.classes);
  CMatMap hmat(ws.h.data(), n, hd);
  MatMap(g + off_wf2_, hd, o_.classes).noalias() = hmat.transpose() * dlog;
  colsum(ws.logits.data(), n, o_.classes, g + off_bf2_);
  MatMap dh(ws.dh.data(), n, hd);
  dh.noalias() = dlog * CMatMap(p + off_wf2_, hd, o_.classes).transpose();
  dh = (hmat.array() > 0.0f).select(dh, 0.0f);
  // fc1
  MatMap(g + off_wf1_, f, hd).noalias() = CMatMap(ws.p2.data(), n, f).transpose() * dh;
  colsum(ws.dh.data(), n, hd, g + off_bf1_);
  MatMap(ws.dp2.data(), n, f).noalias() = dh * CMatMap(p + off_wf1_, f, hd).transpose();
  // conv2: unpool + ReLU', weight gradient, then the input gradient through col2im (written over
  // cols2, which is no longer needed once the weight gradient is taken)
  unpool_relu(ws.dp2.data(), ws.idx2.data(), static_cast<std::size_t>(n) * f, ws.a2.data(),
              ws.da.data(), pix2 * c2);
  CMatMap dz2(ws.da.data(), pix2, c2);
  MatMap(g + off_wc2_, 25 * c1, c2).noalias() =
      CMatMap(ws.cols2.data(), pix2, 25 * c1).transpose() * dz2;
  colsum(ws.da.data(), pix2, c2, g + off_bc2_);
  MatMap(ws.cols2.data(), pix2, 25 * c1).noalias() =
      dz2 * CMatMap(p + off_wc2_, 25 * c1, c2).transpose();
  col2im(ws.cols2.data(), n, h2, c1, ws.dp1.data());
  // conv1
  unpool_relu(ws.dp1.data(), ws.idx1.data(), pix1 / 4 * c1, ws.a1.data(), ws.da.data(), pix1 * c1);
  MatMap(g + off_wc1_, 25, c1).noalias() =
      CMatMap(ws.cols1.data(), pix1, 25).transpose() * CMatMap(ws.da.data(), pix1, c1);
  colsum(ws.da.data(), pix1, c1, g + off_bc1_);
  return loss / n;
}

EvalResult Cnn::evaluate(std::span<const float> params, const float* x, const std::int32_t* y,
                         int n, Workspace& wsb) const {
  auto& ws = cast_ws(wsb);
  EvalResult r;
  for (int s = 0; s < n; s += ws.chunk) {
    const int b = std::min(ws.chunk, n - s);
    forward(params.data(), x + static_cast<std::ptrdiff_t>(s) * input_dim(), b, ws);
    detail::softmax_xent_eval(ws.logits.data(), y + s, b, o_.classes, r);
  }
  return r;
}

double Cnn::train_flops_per_sample() const {
  const double s = o_.side, h2 = s / 2, q = s / 4;
  return 4.0 * s * s * 25 * o_.conv1 + 6.0 * h2 * h2 * 25 * o_.conv1 * o_.conv2 +
         6.0 * q * q * o_.conv2 * o_.hidden + 6.0 * o_.hidden * o_.classes;
}

std::unique_ptr<Model> make_cnn(const CnnOptions& opt) {
  return std::make_unique<Cnn>(opt);
}

}  // namespace ledgerfl::nn
