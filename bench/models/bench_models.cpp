// Google Benchmark kernels of models/: GEMM baseline, MLP train step, train_local, softmax, CNN.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>
#include <vector>

#include "models/data/idx.hpp"
#include "models/data/partition.hpp"
#include "models/nn/cnn.hpp"
#include "models/nn/mlp.hpp"
#include "models/nn/rng.hpp"
#include "models/nn/softmax_regression.hpp"
#include "models/nn/trainer.hpp"

using namespace ledgerfl::nn;

namespace {

Matrix random_matrix(int r, int c, std::uint64_t seed) {
  Xoshiro256 rng(seed);
  Matrix m(r, c);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(rng.normal());
  return m;
}

// (a) The GEMMs of one MLP 784-200-200-10 step at batch B with Eigen: forward a*W, weight
// gradient a^T*d, input gradient d*W^T, for every layer (input gradient skipped for layer 1).
struct MlpGemms {
  std::vector<int> dims{784, 200, 200, 10};
  std::vector<Matrix> a, w, z, gw, dprev;
  double flops = 0;
  explicit MlpGemms(int b) {
    for (std::size_t l = 0; l + 1 < dims.size(); ++l) {
      a.push_back(random_matrix(b, dims[l], 1 + l));
      w.push_back(random_matrix(dims[l], dims[l + 1], 11 + l));
      z.push_back(Matrix(b, dims[l + 1]));
      gw.push_back(Matrix(dims[l], dims[l + 1]));
      dprev.push_back(Matrix(b, dims[l]));
      flops += (l == 0 ? 4.0 : 6.0) * b * dims[l] * dims[l + 1];
    }
  }
  void run() {
    for (std::size_t l = 0; l + 1 < dims.size(); ++l) z[l].noalias() = a[l] * w[l];
    for (std::size_t l = dims.size() - 1; l-- > 0;) {
      gw[l].noalias() = a[l].transpose() * z[l];
      if (l > 0) dprev[l].noalias() = z[l] * w[l].transpose();
    }
  }
  // Best-of-5 GFLOP/s, measured inline so that ratios compare like with like.
  double gflops() {
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < 50; ++i) run();
      best = std::min(best,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return 50 * flops / best * 1e-9;
  }
};

void BM_MlpGemms(benchmark::State& st) {
  MlpGemms g(static_cast<int>(st.range(0)));
  for (auto _ : st) {
    g.run();
    benchmark::ClobberMemory();
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(g.flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
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

// (b) One train step (the fused SGD step: forward, backward, update) at batch B; vs_gemm is its
// rate over the Eigen GEMM rate of the same shapes (a), measured in the same run.
void BM_MlpStep(benchmark::State& st) {
  const int b = static_cast<int>(st.range(0));
  Problem p(make_mlp(784, {200, 200}, 10), b);
  auto ws = p.model->make_workspace(b);
  std::vector<float> grad(p.model->num_params());
  const double gemm = MlpGemms(b).gflops();
  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t n = 0;
  for (auto _ : st) {
    p.model->sgd_step(p.params, p.x.data(), p.y.data(), b, 1e-6f, grad, *ws);
    benchmark::ClobberMemory();
    ++n;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double fl = p.model->train_flops_per_sample() * b;
  st.counters["GFLOP/s"] =
      benchmark::Counter(fl * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["gemm_GFLOP/s"] = gemm;
  st.counters["vs_gemm"] = n > 0 ? fl * static_cast<double>(n) / secs * 1e-9 / gemm : 0.0;
}
BENCHMARK(BM_MlpStep)->Arg(32)->Arg(10);

const ledgerfl::data::TrainTest& fashion_mnist() {
  static const ledgerfl::data::TrainTest data = ledgerfl::data::load_fashion_mnist();
  return data;
}

// (c) train_local of one client: {samples, epochs, batch}, on the first rows of Fashion-MNIST
// (real images: the first layer's update skips all-zero pixel blocks).
void BM_MlpTrainLocal(benchmark::State& st) {
  const int n = static_cast<int>(st.range(0));
  Problem p(make_mlp(784, {200, 200}, 10), n);
  p.x = fashion_mnist().train.features.topRows(n);
  std::copy_n(fashion_mnist().train.labels.begin(), n, p.y.begin());
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

// (d) softmax regression and CNN steps at batch B = st.range(0).
void run_steps(benchmark::State& st, std::unique_ptr<Model> model) {
  const int b = static_cast<int>(st.range(0));
  Problem p(std::move(model), b);
  auto ws = p.model->make_workspace(b);
  std::vector<float> grad(p.model->num_params());
  for (auto _ : st) {
    p.model->sgd_step(p.params, p.x.data(), p.y.data(), b, 1e-6f, grad, *ws);
    benchmark::ClobberMemory();
  }
  st.counters["GFLOP/s"] = benchmark::Counter(p.model->train_flops_per_sample() * b * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void BM_SoftmaxStep(benchmark::State& st) {
  run_steps(st, make_softmax_regression(784, 10));
}
BENCHMARK(BM_SoftmaxStep)->Arg(32)->Arg(10);

void BM_CnnStep(benchmark::State& st) {
  CnnOptions o;
  if (st.range(1) != 0) {  // the full-size CNN of McMahan et al. 2017
    o.conv1 = 32;
    o.conv2 = 64;
    o.hidden = 512;
  }
  run_steps(st, make_cnn(o));
}
BENCHMARK(BM_CnnStep)->Args({32, 0})->Args({10, 0})->Args({32, 1})->Unit(benchmark::kMillisecond);

// (e) A whole FedAvg round on Fashion-MNIST as the simulator runs it: K clients drawn from a
// Dirichlet(0.5) partition over N clients, trained by `threads` workers (one client per task,
// dynamic assignment), each into its own parameter slot, then the sample-weighted average
// computed in a fixed client order, split over the workers by parameter range. Clients produce
// deltas (trained - global) and the weighted mean delta is added to the global model.
// Args: {N, K, E, B, threads, delta}: delta = 1 uses train_local_delta; 0 copies global into the
// slot, trains there, then subtracts and takes the norm (what a caller of train_local does).
// Config A = {1000, 100, 1, 32, 2, 1}; Config B = {100, 10, 5, 10, 2, 1}.
void BM_FedAvgRound(benchmark::State& st) {
  const ledgerfl::data::TrainTest& data = fashion_mnist();
  const auto n_clients = static_cast<std::size_t>(st.range(0));
  const auto k = static_cast<std::size_t>(st.range(1));
  const int threads = static_cast<int>(st.range(4));
  const bool delta_mode = st.range(5) != 0;
  const auto part =
      ledgerfl::data::partition_dirichlet(data.train.labels, 10, n_clients, 0.5, 0, 10);
  Mlp model(784, {200, 200}, 10);
  const std::size_t np = model.num_params();
  std::vector<float> global(np);
  model.init(global, 1);
  SgdOptions opt;
  opt.epochs = static_cast<int>(st.range(2));
  opt.batch = static_cast<int>(st.range(3));
  std::vector<std::vector<float>> slots(k, std::vector<float>(np));
  std::vector<TrainScratch> scratch(threads);
  Xoshiro256 pick(3);
  std::vector<std::uint32_t> all(n_clients);
  std::iota(all.begin(), all.end(), 0u);
  std::int64_t samples = 0;
  int round = 0;
  for (auto _ : st) {
    ++round;
    pick.shuffle(std::span<std::uint32_t>(all));
    // Largest clients first (LPT): with 10 clients of very different sizes on 2 workers, the
    // order decides how well the last client is covered. Slots stay in this fixed order.
    std::stable_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k),
                     [&](std::uint32_t a, std::uint32_t b) {
                       return part.client_size(a) > part.client_size(b);
                     });
    std::atomic<std::size_t> next{0};
    auto worker = [&](int t) {
      for (std::size_t i; (i = next.fetch_add(1)) < k;) {
        const std::size_t c = all[i];
        const ShardView v{data.train.features.data(), data.train.labels.data(), 784,
                          part.client(c)};
        Xoshiro256 rng(derive_seed(round, c));
        auto shuffle = [&](std::span<std::uint32_t> o) { rng.shuffle(o); };
        if (delta_mode) {
          train_local_delta(model, slots[i], global, v, opt, shuffle, scratch[t]);
        } else {  // copy global into the slot, train there, subtract, norm (three passes)
          std::copy(global.begin(), global.end(), slots[i].begin());
          train_local(model, slots[i], global, v, opt, shuffle, scratch[t]);
          double sq = 0;
          for (std::size_t j = 0; j < np; ++j) {
            slots[i][j] -= global[j];
            sq += static_cast<double>(slots[i][j]) * slots[i][j];
          }
          benchmark::DoNotOptimize(sq);
        }
      }
    };
    auto average = [&](int t) {
      const std::size_t lo = np * t / threads, hi = np * (t + 1) / threads;
      double total = 0;
      for (std::size_t i = 0; i < k; ++i) total += static_cast<double>(part.client_size(all[i]));
      Eigen::Map<Eigen::ArrayXf> g(global.data() + lo, static_cast<Eigen::Index>(hi - lo));
      for (std::size_t i = 0; i < k; ++i) {
        const float w = static_cast<float>(part.client_size(all[i]) / total);
        g += w * Eigen::Map<const Eigen::ArrayXf>(slots[i].data() + lo, g.size());
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker, t);
    worker(0);
    for (auto& th : pool) th.join();
    pool.clear();
    for (int t = 1; t < threads; ++t) pool.emplace_back(average, t);
    average(0);
    for (auto& th : pool) th.join();
    for (std::size_t i = 0; i < k; ++i) samples += part.client_size(all[i]) * opt.epochs;
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(samples) * model.train_flops_per_sample() * 1e-9,
                         benchmark::Counter::kIsRate);
  st.counters["samples/round"] =
      benchmark::Counter(static_cast<double>(samples) / static_cast<double>(st.iterations()));
}
BENCHMARK(BM_FedAvgRound)
    ->Args({1000, 100, 1, 32, 2, 1})
    ->Args({1000, 100, 1, 32, 2, 0})
    ->Args({1000, 100, 1, 32, 1, 1})
    ->Args({100, 10, 5, 10, 2, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
