// Mlp and SoftmaxRegression: forward/backward as Eigen GEMMs over views of the flat parameters.
#include "models/nn/mlp.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "models/nn/detail/gemm.hpp"
#include "models/nn/detail/ops.hpp"
#include "models/nn/softmax_regression.hpp"

namespace ledgerfl::nn {
namespace {

using detail::CMatMap;
using detail::CRowVecMap;
using detail::MatMap;
using detail::RowVecMap;

struct MlpWorkspace final : Workspace {
  int max_batch = 0;
  std::vector<Matrix> act;    // per layer: post-ReLU activations (hidden) or logits (last)
  std::vector<Matrix> delta;  // per hidden layer: d loss / d pre-activation
};

MlpWorkspace& cast_ws(Workspace& ws) {
  auto* w = dynamic_cast<MlpWorkspace*>(&ws);
  if (w == nullptr) throw std::invalid_argument("Mlp: workspace of another model");
  return *w;
}

}  // namespace

Mlp::Mlp(int input_dim, std::vector<int> hidden, int classes, InitScheme init) : init_(init) {
  if (input_dim <= 0 || classes <= 1)
    throw std::invalid_argument("Mlp: input_dim must be > 0 and classes > 1");
  dims_.push_back(input_dim);
  for (int h : hidden) {
    if (h <= 0) throw std::invalid_argument("Mlp: hidden widths must be > 0");
    dims_.push_back(h);
  }
  dims_.push_back(classes);
  for (std::size_t l = 0; l + 1 < dims_.size(); ++l) {
    w_off_.push_back(num_params_);
    num_params_ += static_cast<std::size_t>(dims_[l]) * static_cast<std::size_t>(dims_[l + 1]);
    b_off_.push_back(num_params_);
    num_params_ += static_cast<std::size_t>(dims_[l + 1]);
  }
}

std::string Mlp::name() const {
  std::string s = "mlp";
  for (int d : dims_) {
    s += '-';
    s += std::to_string(d);
  }
  return s;
}

void Mlp::init(std::span<float> params, std::uint64_t seed) const {
  if (params.size() != num_params_) throw std::invalid_argument("Mlp::init: wrong size");
  init_layers(layers(), init_, params, seed);
}

std::vector<ParamLayer> Mlp::layers() const {
  std::vector<ParamLayer> out;
  for (std::size_t l = 0; l < w_off_.size(); ++l) {
    const auto d_in = static_cast<std::size_t>(dims_[l]),
               d_out = static_cast<std::size_t>(dims_[l + 1]);
    out.push_back({w_off_[l], d_in * d_out, b_off_[l], d_out, dims_[l], dims_[l + 1]});
  }
  return out;
}

std::unique_ptr<Workspace> Mlp::make_workspace(int max_batch) const {
  auto ws = std::make_unique<MlpWorkspace>();
  ws->max_batch = max_batch;
  const std::size_t layers = dims_.size() - 1;
  for (std::size_t l = 0; l < layers; ++l) {
    ws->act.emplace_back(max_batch, dims_[l + 1]);
    if (l + 1 < layers) ws->delta.emplace_back(max_batch, dims_[l + 1]);
  }
  return ws;
}

void Mlp::forward(const float* p, const float* x, int n, Workspace& wsb) const {
  auto& ws = cast_ws(wsb);
  const int layers = static_cast<int>(dims_.size()) - 1;
  const float* in = x;
  for (int l = 0; l < layers; ++l) {
    const int din = dims_[l], dout = dims_[l + 1];
    detail::dense_forward(in, n, din, p + w_off_[l], dout, p + b_off_[l], ws.act[l].data(),
                          l + 1 < layers);
    in = ws.act[l].data();
  }
}

float Mlp::loss_and_grad(std::span<const float> params, const float* x, const std::int32_t* y,
                         int n, std::span<float> grad, Workspace& ws) const {
  if (grad.size() != num_params_ || params.size() != num_params_)
    throw std::invalid_argument("Mlp: parameter/gradient size mismatch");
  return backward(nullptr, params.data(), x, y, n, grad.data(), 0.0f, ws);
}

float Mlp::sgd_step(std::span<float> params, const float* x, const std::int32_t* y, int n, float lr,
                    std::span<float> /*grad_scratch*/, Workspace& ws) const {
  if (params.size() != num_params_) throw std::invalid_argument("Mlp: parameter size mismatch");
  return backward(params.data(), params.data(), x, y, n, nullptr, lr, ws);
}

float Mlp::sgd_step_from(std::span<const float> from, std::span<float> to, const float* x,
                         const std::int32_t* y, int n, float lr, std::span<float> /*grad_scratch*/,
                         Workspace& ws) const {
  if (from.size() != num_params_ || to.size() != num_params_)
    throw std::invalid_argument("Mlp: parameter size mismatch");
  return backward(to.data(), from.data(), x, y, n, nullptr, lr, ws);
}

float Mlp::backward(float* p_mut, const float* p, const float* x, const std::int32_t* y, int n,
                    float* g, float lr, Workspace& wsb) const {
  auto& ws = cast_ws(wsb);
  if (n <= 0 || n > ws.max_batch) throw std::invalid_argument("Mlp: batch exceeds workspace");
  forward(p, x, n, ws);
  const int layers = static_cast<int>(dims_.size()) - 1;
  const double loss = detail::softmax_xent_backward(ws.act[layers - 1].data(), y, n, dims_.back());
  // delta of layer l (n x d_{l+1}): the logits buffer for the last layer, ws.delta otherwise.
  for (int l = layers - 1; l >= 0; --l) {
    const int din = dims_[l], dout = dims_[l + 1];
    const float* dl = (l == layers - 1) ? ws.act[l].data() : ws.delta[l].data();
    CMatMap d(dl, n, dout);
    if (l > 0) {
      // delta_{l-1} = (d W_l^T) * relu'(z_{l-1}); relu' is read from the stored activation.
      CMatMap w(p + w_off_[l], din, dout);
      MatMap dprev(ws.delta[l - 1].data(), n, din);
      dprev.noalias() = d * w.transpose();
      CMatMap aprev(ws.act[l - 1].data(), n, din);
      dprev = (aprev.array() > 0.0f).select(dprev, 0.0f);
    }
    const float* a = l == 0 ? x : ws.act[l - 1].data();
    if (p_mut == nullptr) {
      detail::dense_weight_update(g + w_off_[l], nullptr, din, dout, a, dl, n, 1.0f);
      RowVecMap gb(g + b_off_[l], dout);
      gb = d.row(0);
      for (int i = 1; i < n; ++i) gb += d.row(i);
    } else {
      detail::dense_weight_update(p_mut + w_off_[l], p + w_off_[l], din, dout, a, dl, n, -lr);
      RowVecMap b(p_mut + b_off_[l], dout);
      b = CRowVecMap(p + b_off_[l], dout);
      for (int i = 0; i < n; ++i) b -= lr * d.row(i);
    }
  }
  return static_cast<float>(loss / n);
}

EvalResult Mlp::evaluate(std::span<const float> params, const float* x, const std::int32_t* y,
                         int n, Workspace& wsb) const {
  auto& ws = cast_ws(wsb);
  EvalResult r;
  const int layers = static_cast<int>(dims_.size()) - 1;
  for (int s = 0; s < n; s += ws.max_batch) {
    const int b = std::min(ws.max_batch, n - s);
    const float* xs = x + static_cast<std::ptrdiff_t>(s) * dims_[0];
    forward(params.data(), xs, b, ws);
    detail::softmax_xent_eval(ws.act[layers - 1].data(), y + s, b, dims_.back(), r);
  }
  return r;
}

double Mlp::train_flops_per_sample() const {
  double f = 0.0;
  for (std::size_t l = 0; l + 1 < dims_.size(); ++l) {
    const double p = static_cast<double>(dims_[l]) * dims_[l + 1];
    f += (l == 0 ? 4.0 : 6.0) * p;
  }
  return f;
}

std::unique_ptr<Model> make_mlp(int input_dim, std::vector<int> hidden, int classes,
                                InitScheme init) {
  return std::make_unique<Mlp>(input_dim, std::move(hidden), classes, init);
}

std::string SoftmaxRegression::name() const {
  std::string s = "softmax-";
  s += std::to_string(input_dim());
  s += '-';
  s += std::to_string(num_classes());
  return s;
}

std::unique_ptr<Model> make_softmax_regression(int input_dim, int classes, InitScheme init) {
  return std::make_unique<SoftmaxRegression>(input_dim, classes, init);
}

}  // namespace ledgerfl::nn
