// Google Benchmark kernels of models/: GEMM baseline, MLP train step, train_local, softmax, CNN.
#include <benchmark/benchmark.h>

#include <numeric>
#include <vector>

#include "models/nn/mlp.hpp"
#include "models/nn/rng.hpp"
#include "models/nn/trainer.hpp"

using namespace ledgerfl::nn;

namespace {

Matrix random_matrix(int r, int c, std::uint64_t seed) {
  Xoshiro256 rng(seed);
  Matrix m(r, c);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(rng.normal());
  return m;
}

// (a) The GEMMs of one MLP 784-200-200-10 step at batch B: forward a*W, weight gradient a^T*d,
// input gradient d*W^T, for every layer (input gradient skipped for layer 1).
void BM_MlpGemms(benchmark::State& st) {
  const int b = static_cast<int>(st.range(0));
  const std::vector<int> dims{784, 200, 200, 10};
  std::vector<Matrix> a, w, z, gw, dprev;
  for (std::size_t l = 0; l + 1 < dims.size(); ++l) {
    a.push_back(random_matrix(b, dims[l], 1 + l));
    w.push_back(random_matrix(dims[l], dims[l + 1], 11 + l));
    z.push_back(Matrix(b, dims[l + 1]));
    gw.push_back(Matrix(dims[l], dims[l + 1]));
    dprev.push_back(Matrix(b, dims[l]));
  }
  double flops = 0;
  for (std::size_t l = 0; l + 1 < dims.size(); ++l)
    flops += (l == 0 ? 4.0 : 6.0) * b * dims[l] * dims[l + 1];
  for (auto _ : st) {
    for (std::size_t l = 0; l + 1 < dims.size(); ++l) z[l].noalias() = a[l] * w[l];
    for (std::size_t l = dims.size() - 1; l-- > 0;) {
      gw[l].noalias() = a[l].transpose() * z[l];
      if (l > 0) dprev[l].noalias() = z[l] * w[l].transpose();
    }
    benchmark::ClobberMemory();
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MlpGemms)->Arg(32)->Arg(10);

// Single GEMM shapes of layer 1 at batch B.
void BM_GemmForwardL1(benchmark::State& st) {
  const int b = static_cast<int>(st.range(0));
  Matrix a = random_matrix(b, 784, 1), w = random_matrix(784, 200, 2), z(b, 200);
  for (auto _ : st) {
    z.noalias() = a * w;
    benchmark::ClobberMemory();
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * b * 784 * 200 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GemmForwardL1)->Arg(32)->Arg(10);

void BM_GemmWeightGradL1(benchmark::State& st) {
  const int b = static_cast<int>(st.range(0));
  Matrix a = random_matrix(b, 784, 1), d = random_matrix(b, 200, 2), gw(784, 200);
  for (auto _ : st) {
    gw.noalias() = a.transpose() * d;
    benchmark::ClobberMemory();
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * b * 784 * 200 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GemmWeightGradL1)->Arg(32)->Arg(10);

struct Problem {
  std::unique_ptr<Model> model;
  std::vector<float> params, global;
  Matrix x;
  std::vector<std::int32_t> y;
  std::vector<std::uint32_t> rows;
  Problem(std::unique_ptr<Model> m, int n) : model(std::move(m)) {
    params.resize(model->num_params());
    model->init(params, 7);
    global = params;
    x = random_matrix(n, model->input_dim(), 3).cwiseAbs();
    Xoshiro256 rng(5);
    for (int i = 0; i < n; ++i) y.push_back(static_cast<std::int32_t>(rng.below(10)));
    rows.resize(n);
    std::iota(rows.begin(), rows.end(), 0u);
  }
  ShardView view() const { return {x.data(), y.data(), model->input_dim(), rows}; }
};

// (b) One train step (loss_and_grad + SGD update) at batch B.
void BM_MlpStep(benchmark::State& st) {
  const int b = static_cast<int>(st.range(0));
  Problem p(make_mlp(784, {200, 200}, 10), b);
  auto ws = p.model->make_workspace(b);
  std::vector<float> grad(p.model->num_params());
  for (auto _ : st) {
    p.model->loss_and_grad(p.params, p.x.data(), p.y.data(), b, grad, *ws);
    for (std::size_t i = 0; i < grad.size(); ++i) p.params[i] -= 1e-6f * grad[i];
    benchmark::ClobberMemory();
  }
  st.counters["GFLOP/s"] = benchmark::Counter(p.model->train_flops_per_sample() * b * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MlpStep)->Arg(32)->Arg(10);

// (c) train_local of one client: {samples, epochs, batch}.
void BM_MlpTrainLocal(benchmark::State& st) {
  const int n = static_cast<int>(st.range(0));
  Problem p(make_mlp(784, {200, 200}, 10), n);
  SgdOptions opt;
  opt.epochs = static_cast<int>(st.range(1));
  opt.batch = static_cast<int>(st.range(2));
  TrainScratch scratch;
  Xoshiro256 rng(9);
  auto shuffle = [&](std::span<std::uint32_t> o) { rng.shuffle(o); };
  for (auto _ : st) {
    auto r = train_local(*p.model, p.params, p.global, p.view(), opt, shuffle, scratch);
    benchmark::DoNotOptimize(r);
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(p.model->train_flops_per_sample() * n * opt.epochs * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MlpTrainLocal)->Args({59, 1, 32})->Args({600, 5, 10})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
