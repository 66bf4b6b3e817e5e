// Counts heap allocations (malloc interposed, which also sees operator new and Eigen's aligned
// buffers) inside train_local once its scratch is warm: the step loop must not allocate.
// glibc-specific: forwards to __libc_malloc & co., the documented way to replace malloc.
#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <numeric>
#include <vector>

#include "models/nn/cnn.hpp"
#include "models/nn/mlp.hpp"
#include "models/nn/rng.hpp"
#include "models/nn/trainer.hpp"

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {
std::atomic<long> g_allocs{0};
void count() {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(std::size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(std::size_t a, std::size_t b) {
  count();
  return __libc_calloc(a, b);
}
void* realloc(void* p, std::size_t n) {
  count();
  return __libc_realloc(p, n);
}
void* memalign(std::size_t al, std::size_t n) {
  count();
  return __libc_memalign(al, n);
}
void* aligned_alloc(std::size_t al, std::size_t n) {
  count();
  return __libc_memalign(al, n);
}
int posix_memalign(void** out, std::size_t al, std::size_t n) {
  count();
  *out = __libc_memalign(al, n);
  return *out ? 0 : 12;  // ENOMEM
}
void free(void* p) {
  __libc_free(p);
}
}

using namespace ledgerfl::nn;

namespace {

long allocations_in_second_run(const Model& m, int n, const SgdOptions& opt) {
  Xoshiro256 rng(1);
  std::vector<float> x(static_cast<std::size_t>(n) * m.input_dim());
  for (auto& v : x) v = static_cast<float>(rng.uniform());
  std::vector<std::int32_t> y(n);
  for (auto& v : y) v = static_cast<std::int32_t>(rng.below(m.num_classes()));
  std::vector<std::uint32_t> rows(n);
  std::iota(rows.begin(), rows.end(), 0u);
  const ShardView data{x.data(), y.data(), m.input_dim(), rows};
  std::vector<float> global(m.num_params()), p(m.num_params());
  m.init(global, 3);
  TrainScratch scratch;
  const std::function<void(std::span<std::uint32_t>)> shuffle = [&](std::span<std::uint32_t> o) {
    rng.shuffle(o);
  };
  train_local(m, p, global, data, opt, shuffle, scratch);        // warm-up: sizes the scratch
  train_local_delta(m, p, global, data, opt, shuffle, scratch);  // sizes scratch.work
  const long before = g_allocs.load();
  train_local(m, p, global, data, opt, shuffle, scratch);
  train_local_delta(m, p, global, data, opt, shuffle, scratch);
  const EvalResult r = evaluate_all(m, p, data, opt.batch, scratch);
  const long after = g_allocs.load();
  CHECK(r.count == n);
  return after - before;
}

}  // namespace

TEST_CASE("the interposed counter sees allocations") {
  long before = g_allocs.load();
  std::vector<float> v(1000);  // operator new
  volatile float sink = v[999];
  CHECK(g_allocs.load() - before >= 1);
  before = g_allocs.load();
  Eigen::MatrixXf m = Eigen::MatrixXf::Constant(64, 64, static_cast<float>(sink));  // Eigen
  sink = m.sum();
  CHECK(g_allocs.load() - before >= 1);
}

TEST_CASE("train_local allocates nothing once the scratch is warm") {
  Mlp mlp(784, {200, 200}, 10);
  SgdOptions opt;
  opt.batch = 32;
  CHECK(allocations_in_second_run(mlp, 59, opt) == 0);  // fused plain SGD, Config A shape
  opt.batch = 10;
  opt.epochs = 2;
  opt.momentum = 0.9f;
  opt.prox_mu = 0.01f;
  opt.weight_decay = 1e-4f;
  CHECK(allocations_in_second_run(mlp, 95, opt) == 0);  // two-pass path
  opt.steps = 13;
  CHECK(allocations_in_second_run(mlp, 40, opt) == 0);  // steps mode, wrapping passes
  CnnOptions co;
  co.conv1 = 4;
  co.conv2 = 8;
  co.hidden = 16;
  Cnn cnn(co);
  SgdOptions c;
  c.batch = 8;
  CHECK(allocations_in_second_run(cnn, 20, c) == 0);
}
