// Tests of models/nn: gradient checks for every model, SGD variants in closed form, training
// progress, determinism and evaluation; initialisation schemes against their closed-form laws.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "models/nn/cnn.hpp"
#include "models/nn/detail/gemm.hpp"
#include "models/nn/init.hpp"
#include "models/nn/mlp.hpp"
#include "models/nn/rng.hpp"
#include "models/nn/softmax_regression.hpp"
#include "models/nn/trainer.hpp"

using namespace ledgerfl::nn;

namespace {

struct Batch {
  std::vector<float> x;
  std::vector<std::int32_t> y;
  int n = 0;
};

Batch random_batch(const Model& m, int n, std::uint64_t seed) {
  Xoshiro256 rng(seed);
  Batch b;
  b.n = n;
  b.x.resize(static_cast<std::size_t>(n) * m.input_dim());
  for (auto& v : b.x) v = static_cast<float>(rng.uniform());
  for (int i = 0; i < n; ++i) b.y.push_back(static_cast<std::int32_t>(rng.below(m.num_classes())));
  return b;
}

double mean_loss(const Model& m, const std::vector<float>& p, const Batch& b, Workspace& ws) {
  return m.evaluate(p, b.x.data(), b.y.data(), b.n, ws).loss_sum / b.n;
}

// Relative error ||a - b|| / (||a|| + ||b||) over the checked coordinates.
double rel_error(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, da = 0, db = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    da += a[i] * a[i];
    db += b[i] * b[i];
  }
  return std::sqrt(num) / (std::sqrt(da) + std::sqrt(db) + 1e-30);
}

// Central finite differences on up to max_coords random coordinates; returns (finite-difference,
// analytic) pairs.
void fd_check(const Model& m, std::uint64_t seed, std::size_t max_coords, std::vector<double>& fd,
              std::vector<double>& an) {
  std::vector<float> p(m.num_params()), g(m.num_params());
  m.init(p, seed);
  // Nonzero biases so that their gradients are exercised away from the initial point.
  Xoshiro256 rng(seed + 1);
  for (auto& v : p) v += static_cast<float>(0.05 * rng.normal());
  const Batch b = random_batch(m, 7, seed + 2);
  auto ws = m.make_workspace(b.n);
  const float loss = m.loss_and_grad(p, b.x.data(), b.y.data(), b.n, g, *ws);
  CHECK(std::abs(loss - mean_loss(m, p, b, *ws)) < 1e-4);
  std::vector<std::uint32_t> coords(m.num_params());
  std::iota(coords.begin(), coords.end(), 0u);
  rng.shuffle(std::span<std::uint32_t>(coords));
  coords.resize(std::min(max_coords, coords.size()));
  // Small enough that no ReLU or max-pool switches inside [w - eps, w + eps] for this seed (with
  // 1e-2 a few kinks are crossed), large enough for float rounding of the loss (~1e-7) to stay
  // far below the tolerance.
  const float eps = 1e-3f;
  for (std::uint32_t c : coords) {
    const float orig = p[c];
    p[c] = orig + eps;
    const double lp = mean_loss(m, p, b, *ws);
    p[c] = orig - eps;
    const double lm = mean_loss(m, p, b, *ws);
    p[c] = orig;
    fd.push_back((lp - lm) / (2.0 * static_cast<double>(eps)));
    an.push_back(g[c]);
  }
}

void gradient_check(const Model& m) {
  std::vector<double> fd, an;
  fd_check(m, 42, 400, fd, an);
  const double err = rel_error(fd, an);
  INFO(m.name() << ": relative gradient error " << err);  // ~5e-5 for every model
  CHECK(err < 1e-3);
  // The check has teeth: a gradient off by 5% in every coordinate, or with two coordinates
  // swapped, fails it.
  std::vector<double> scaled = an;
  for (auto& v : scaled) v *= 1.05;
  CHECK(rel_error(fd, scaled) > 1e-3);
  std::size_t big = 0, other = 1;
  for (std::size_t i = 0; i < an.size(); ++i)
    if (std::abs(an[i]) > std::abs(an[big])) big = i;
  if (other == big) other = 0;
  std::vector<double> swapped = an;
  std::swap(swapped[big], swapped[other]);
  CHECK(rel_error(fd, swapped) > 1e-3);
}

}  // namespace

TEST_CASE("finite-difference gradient check of every model") {
  SUBCASE("softmax regression") {
    gradient_check(SoftmaxRegression(6, 3));
  }
  SUBCASE("mlp") {
    gradient_check(Mlp(6, {5, 4}, 3));
  }
  SUBCASE("mlp one hidden layer") {
    gradient_check(Mlp(9, {7}, 4));
  }
  SUBCASE("cnn") {
    CnnOptions o;
    o.side = 8;
    o.conv1 = 2;
    o.conv2 = 3;
    o.hidden = 5;
    o.classes = 3;
    gradient_check(Cnn(o));
  }
}

TEST_CASE("parameter counts, layout and FLOPs") {
  Mlp mlp(784, {200, 200}, 10);
  CHECK(mlp.num_params() == 784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10);
  CHECK(mlp.weight_offset(1) == 784 * 200 + 200);
  CHECK(mlp.train_flops_per_sample() ==
        doctest::Approx(4.0 * 784 * 200 + 6.0 * 200 * 200 + 6.0 * 200 * 10));
  Cnn cnn(CnnOptions{});
  CHECK(cnn.num_params() ==
        25 * 16 + 16 + 25 * 16 * 32 + 32 + 7 * 7 * 32 * 128 + 128 + 128 * 10 + 10);
  CHECK(SoftmaxRegression(784, 10).num_params() == 7850);
  CHECK_THROWS_AS(Cnn(CnnOptions{30, 16, 32, 128, 10}), std::invalid_argument);
  // He initialisation: zero biases, weight variance 2 / fan_in.
  std::vector<float> p(mlp.num_params());
  mlp.init(p, 1);
  double ss = 0;
  for (std::size_t i = 0; i < 784 * 200; ++i) ss += p[i] * p[i];
  CHECK(ss / (784 * 200) == doctest::Approx(2.0 / 784).epsilon(0.02));
  CHECK(p[mlp.bias_offset(0)] == 0.0f);
  std::vector<float> q(mlp.num_params());
  mlp.init(q, 1);
  CHECK(p == q);
  mlp.init(q, 2);
  CHECK(p != q);
}

TEST_CASE("the fused SGD step equals gradient + update") {
  for (int hidden : {0, 1}) {
    std::unique_ptr<Model> m = hidden ? make_mlp(12, {9, 7}, 4) : make_softmax_regression(12, 4);
    std::vector<float> p(m->num_params()), g(m->num_params());
    m->init(p, 3);
    const Batch b = random_batch(*m, 10, 4);
    auto ws = m->make_workspace(10);
    std::vector<float> ref = p;
    const float l1 = m->loss_and_grad(ref, b.x.data(), b.y.data(), b.n, g, *ws);
    for (std::size_t i = 0; i < ref.size(); ++i) ref[i] -= 0.1f * g[i];
    const float l2 = m->sgd_step(p, b.x.data(), b.y.data(), b.n, 0.1f, g, *ws);
    CHECK(l1 == doctest::Approx(l2));
    for (std::size_t i = 0; i < p.size(); ++i)
      REQUIRE(p[i] == doctest::Approx(ref[i]).epsilon(1e-5));
  }
}

namespace {

// Three Gaussian blobs in 5-d, linearly separable.
struct Blobs {
  std::vector<float> x;
  std::vector<std::int32_t> y;
  std::vector<std::uint32_t> rows;
  ShardView view() const { return {x.data(), y.data(), 5, rows}; }
};

Blobs make_blobs(int n) {
  Blobs b;
  Xoshiro256 rng(17);
  for (int i = 0; i < n; ++i) {
    const int c = i % 3;
    for (int j = 0; j < 5; ++j)
      b.x.push_back(static_cast<float>((j == c ? 3.0 : 0.0) + 0.5 * rng.normal()));
    b.y.push_back(c);
    b.rows.push_back(static_cast<std::uint32_t>(i));
  }
  return b;
}

auto identity_shuffle = [](std::span<std::uint32_t>) {};

}  // namespace

TEST_CASE("training decreases the loss on a separable problem") {
  const Blobs data = make_blobs(300);
  for (int kind = 0; kind < 2; ++kind) {
    std::unique_ptr<Model> m = kind ? make_mlp(5, {16}, 3) : make_softmax_regression(5, 3);
    std::vector<float> global(m->num_params()), p(m->num_params());
    m->init(global, 5);
    TrainScratch scratch;
    const EvalResult before = evaluate_all(*m, global, data.view(), 64, scratch);
    Xoshiro256 rng(1);
    SgdOptions opt;
    opt.lr = 0.1f;
    opt.batch = 16;
    opt.epochs = 5;
    const TrainResult r = train_local(
        *m, p, global, data.view(), opt, [&](std::span<std::uint32_t> o) { rng.shuffle(o); },
        scratch);
    CHECK(r.steps == 5 * 19);
    CHECK(r.examples == 5 * 300);
    const EvalResult after = evaluate_all(*m, p, data.view(), 64, scratch);
    CHECK(after.count == 300);
    CHECK(after.loss_sum < 0.3 * before.loss_sum);
    CHECK(after.correct >= 290);
  }
}

TEST_CASE("momentum, weight decay and FedProx steps in closed form") {
  const Blobs data = make_blobs(12);
  auto m = make_mlp(5, {4}, 3);
  const std::size_t np = m->num_params();
  std::vector<float> global(np), p(np), g1(np), g2(np);
  m->init(global, 8);
  auto ws = m->make_workspace(12);
  // Full batch, identity order: both steps see all 12 rows in order.
  SgdOptions opt;
  opt.lr = 0.2f;
  opt.batch = 12;
  opt.steps = 2;
  auto two_steps = [&](float momentum, float wd, float mu) {
    std::vector<float> w = global;
    m->loss_and_grad(w, data.x.data(), data.y.data(), 12, g1, *ws);
    for (std::size_t i = 0; i < np; ++i) g1[i] += wd * w[i];  // prox term is 0 at w = w0
    std::vector<float> v = g1;                                // PyTorch: v_1 = g_1
    for (std::size_t i = 0; i < np; ++i) w[i] -= opt.lr * v[i];
    m->loss_and_grad(w, data.x.data(), data.y.data(), 12, g2, *ws);
    for (std::size_t i = 0; i < np; ++i) {
      g2[i] += wd * w[i] + mu * (w[i] - global[i]);
      v[i] = momentum * v[i] + g2[i];
      w[i] -= opt.lr * v[i];
    }
    return w;
  };
  auto run = [&](float momentum, float wd, float mu) {
    SgdOptions o = opt;
    o.momentum = momentum;
    o.weight_decay = wd;
    o.prox_mu = mu;
    TrainScratch scratch;
    train_local(*m, p, global, data.view(), o, identity_shuffle, scratch);
    return p;
  };
  struct Case {
    float momentum, wd, mu;
  };
  for (Case c : {Case{0, 0, 0}, Case{0.9f, 0, 0}, Case{0, 0.01f, 0}, Case{0, 0, 0.5f},
                 Case{0.5f, 0.01f, 0.5f}}) {
    CAPTURE(c.momentum);
    CAPTURE(c.wd);
    CAPTURE(c.mu);
    const auto expect = two_steps(c.momentum, c.wd, c.mu);
    const auto got = run(c.momentum, c.wd, c.mu);
    for (std::size_t i = 0; i < np; ++i)
      REQUIRE(got[i] == doctest::Approx(expect[i]).epsilon(1e-5));
  }
  // Plain SGD takes its first step from `global` straight into `params`: global is untouched,
  // and a params buffer full of garbage does not matter.
  {
    const std::vector<float> global_before = global;
    std::fill(p.begin(), p.end(), std::numeric_limits<float>::quiet_NaN());
    TrainScratch scratch;
    train_local(*m, p, global, data.view(), opt, identity_shuffle, scratch);
    CHECK(global == global_before);
    const auto expect = two_steps(0, 0, 0);
    for (std::size_t i = 0; i < np; ++i) REQUIRE(p[i] == doctest::Approx(expect[i]).epsilon(1e-5));
    // Zero epochs: params = global.
    SgdOptions none = opt;
    none.steps = 0;
    none.epochs = 0;
    std::fill(p.begin(), p.end(), 1.0f);
    const TrainResult r = train_local(*m, p, global, data.view(), none, identity_shuffle, scratch);
    CHECK(r.steps == 0);
    CHECK(p == global);
  }
  // The proximal term alone moves the second step by exactly -lr * mu * (w1 - w0).
  const auto plain = run(0, 0, 0);
  const auto prox = run(0, 0, 0.5f);
  std::vector<float> w1 = global;
  m->loss_and_grad(w1, data.x.data(), data.y.data(), 12, g1, *ws);
  for (std::size_t i = 0; i < np; ++i) w1[i] -= opt.lr * g1[i];
  double moved = 0;
  for (std::size_t i = 0; i < np; ++i) {
    const float expect = -opt.lr * 0.5f * (w1[i] - global[i]);
    // Both results are rounded to float: allow a few ulps of |w| on top of 0.1% of the shift.
    const float tol = 4.0f * 1.2e-7f * (1.0f + std::abs(plain[i])) + 1e-3f * std::abs(expect);
    REQUIRE(std::abs((prox[i] - plain[i]) - expect) <= tol);
    moved += std::abs(expect);
  }
  CHECK(moved > 1e-3);  // the comparison above is not vacuous
}

TEST_CASE("training is deterministic and steps mode wraps around") {
  const Blobs data = make_blobs(59);
  auto m = make_mlp(5, {8, 8}, 3);
  std::vector<float> global(m->num_params());
  m->init(global, 9);
  auto train = [&](SgdOptions opt, TrainScratch& scratch) {
    std::vector<float> p(m->num_params());
    Xoshiro256 rng(123);
    train_local(
        *m, p, global, data.view(), opt, [&](std::span<std::uint32_t> o) { rng.shuffle(o); },
        scratch);
    return p;
  };
  SgdOptions opt;
  opt.batch = 32;
  opt.momentum = 0.9f;
  TrainScratch s1, s2;
  const auto a = train(opt, s1);
  const auto b = train(opt, s2);
  const auto c = train(opt, s1);  // reused scratch
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)) == 0);
  CHECK(a != global);
  // Steps mode: 7 steps of 32 over 59 rows; every pass of 59 consecutive samples is a
  // permutation of the rows (labels = row ids, recorded by the model).
  struct Recorder : Mlp {
    mutable std::vector<std::int32_t> seen;
    Recorder() : Mlp(5, {4}, 59) {}
    float sgd_step(std::span<float> p, const float* x, const std::int32_t* y, int n, float lr,
                   std::span<float> g, Workspace& ws) const override {
      seen.insert(seen.end(), y, y + n);
      return Mlp::sgd_step(p, x, y, n, lr, g, ws);
    }
    float sgd_step_from(std::span<const float> from, std::span<float> to, const float* x,
                        const std::int32_t* y, int n, float lr, std::span<float> g,
                        Workspace& ws) const override {
      seen.insert(seen.end(), y, y + n);
      return Mlp::sgd_step_from(from, to, x, y, n, lr, g, ws);
    }
  } rec;
  Blobs ids = data;
  std::iota(ids.y.begin(), ids.y.end(), 0);
  std::vector<float> g0(rec.num_params()), p(rec.num_params());
  rec.init(g0, 1);
  int passes = 0;
  Xoshiro256 rng(8);
  auto counting = [&](std::span<std::uint32_t> o) {
    ++passes;
    rng.shuffle(o);
  };
  opt.steps = 7;
  opt.momentum = 0;
  TrainScratch s3;
  const TrainResult r = train_local(rec, p, g0, ids.view(), opt, counting, s3);
  CHECK(r.steps == 7);
  CHECK(r.examples == 7 * 32);
  CHECK(passes == 4);  // ceil(224 / 59)
  REQUIRE(rec.seen.size() == 224);
  for (int pass = 0; pass < 3; ++pass) {
    std::vector<std::int32_t> v(rec.seen.begin() + 59 * pass, rec.seen.begin() + 59 * (pass + 1));
    std::sort(v.begin(), v.end());
    for (int i = 0; i < 59; ++i) REQUIRE(v[i] == i);
  }
  CHECK(std::vector<std::int32_t>(rec.seen.begin(), rec.seen.begin() + 59) !=
        std::vector<std::int32_t>(rec.seen.begin() + 59, rec.seen.begin() + 118));  // reshuffled
}

TEST_CASE("evaluate_all: contiguous and gathered rows agree, chunking does not matter") {
  const Blobs data = make_blobs(100);
  auto m = make_mlp(5, {6}, 3);
  std::vector<float> p(m->num_params());
  m->init(p, 2);
  TrainScratch scratch;
  const EvalResult whole = evaluate_all(*m, p, data.view(), 100, scratch);
  const EvalResult chunks = evaluate_all(*m, p, data.view(), 7, scratch);
  CHECK(whole.count == 100);
  CHECK(whole.correct == chunks.correct);
  CHECK(whole.loss_sum == doctest::Approx(chunks.loss_sum));
  // Reversed rows are gathered; the sum is over the same samples.
  Blobs rev = data;
  std::reverse(rev.rows.begin(), rev.rows.end());
  const EvalResult r = evaluate_all(*m, p, rev.view(), 7, scratch);
  CHECK(r.correct == whole.correct);
  CHECK(r.loss_sum == doctest::Approx(whole.loss_sum));
  // Loss by hand for one sample.
  auto ws = m->make_workspace(1);
  const EvalResult one = m->evaluate(p, data.x.data(), data.y.data(), 1, *ws);
  std::vector<float> g(m->num_params());
  CHECK(one.loss_sum ==
        doctest::Approx(m->loss_and_grad(p, data.x.data(), data.y.data(), 1, g, *ws)));
}

TEST_CASE("log-softmax is stable for huge logits") {
  SoftmaxRegression m(2, 2);
  std::vector<float> p{1e4f, -1e4f, -1e4f, 1e4f, 0.0f, 0.0f};  // W (2x2), b
  std::vector<float> x{1.0f, 0.0f}, g(6);
  std::vector<std::int32_t> y{1};
  auto ws = m.make_workspace(1);
  const float loss = m.loss_and_grad(p, x.data(), y.data(), 1, g, *ws);
  CHECK(std::isfinite(loss));
  CHECK(loss == doctest::Approx(2e4f));
  CHECK(g[0] == doctest::Approx(1.0f));
  CHECK(g[1] == doctest::Approx(-1.0f));
}

TEST_CASE("dense kernels match a naive product on ragged shapes") {
  Xoshiro256 rng(77);
  auto fill = [&](std::vector<float>& v, std::size_t n) {
    v.resize(n);
    for (auto& e : v) e = static_cast<float>(rng.normal());
  };
  std::vector<float> x, w, b, d, z, c, c0;
  for (int n : {1, 3, 8, 9, 17, 300}) {
    for (int m : {1, 10, 16, 17, 48, 49, 100}) {
      const int k = 13;
      CAPTURE(n);
      CAPTURE(m);
      fill(x, static_cast<std::size_t>(n) * k);
      // Zero runs (like image backgrounds), which the update kernel skips.
      for (int i = 0; i < n; i += 2)
        for (int p = 0; p < 8; ++p) x[static_cast<std::size_t>(i) * k + p] = 0.0f;
      if (n > 2)
        for (int p = 0; p < k; ++p) x[static_cast<std::size_t>(1) * k + p] = 0.0f;
      fill(w, static_cast<std::size_t>(k) * m);
      fill(b, m);
      fill(d, static_cast<std::size_t>(n) * m);
      fill(c0, static_cast<std::size_t>(k) * m);
      z.assign(static_cast<std::size_t>(n) * m + 5, 123.0f);  // guard past the end
      for (bool relu : {false, true}) {
        detail::dense_forward(x.data(), n, k, w.data(), m, b.data(), z.data(), relu);
        for (int i = 0; i < n; ++i)
          for (int j = 0; j < m; ++j) {
            double s = b[j];
            for (int p = 0; p < k; ++p) s += static_cast<double>(x[i * k + p]) * w[p * m + j];
            if (relu) s = std::max(s, 0.0);
            REQUIRE(z[i * m + j] == doctest::Approx(s).epsilon(1e-5).scale(1.0));
          }
        CHECK(z[static_cast<std::size_t>(n) * m] == 123.0f);
      }
      for (int mode = 0; mode < 3; ++mode) {  // gradient, in place, out of place
        const bool acc = mode > 0;
        std::vector<float> in = c0;
        c = mode == 2 ? std::vector<float>(c0.size(), -7.0f) : c0;
        detail::dense_weight_update(c.data(),
                                    mode == 0   ? nullptr
                                    : mode == 1 ? c.data()
                                                : in.data(),
                                    k, m, x.data(), d.data(), n, -0.5f);
        for (int p = 0; p < k; ++p)
          for (int j = 0; j < m; ++j) {
            double s = 0;
            for (int i = 0; i < n; ++i) s += static_cast<double>(x[i * k + p]) * d[i * m + j];
            const double expect = (acc ? c0[p * m + j] : 0.0) - 0.5 * s;
            REQUIRE(c[p * m + j] == doctest::Approx(expect).epsilon(1e-5).scale(1.0));
          }
      }
    }
  }
}

TEST_CASE("CNN batches larger than its internal chunk give the same mean gradient") {
  CnnOptions o;
  o.side = 8;
  o.conv1 = 2;
  o.conv2 = 3;
  o.hidden = 5;
  o.classes = 3;
  const Cnn m(o);
  std::vector<float> p(m.num_params()), g40(m.num_params()), g80(m.num_params());
  m.init(p, 4);
  Batch b = random_batch(m, 40, 6);
  auto ws40 = m.make_workspace(40);
  const float l40 = m.loss_and_grad(p, b.x.data(), b.y.data(), 40, g40, *ws40);
  // The same 40 samples twice: 80 rows, processed as pieces of 64 and 16.
  b.x.insert(b.x.end(), b.x.begin(), b.x.end());
  b.y.insert(b.y.end(), b.y.begin(), b.y.end());
  auto ws80 = m.make_workspace(80);
  const float l80 = m.loss_and_grad(p, b.x.data(), b.y.data(), 80, g80, *ws80);
  CHECK(l80 == doctest::Approx(l40).epsilon(1e-5));
  for (std::size_t i = 0; i < g40.size(); ++i)
    REQUIRE(g80[i] == doctest::Approx(g40[i]).epsilon(1e-4).scale(1e-3));
  CHECK(m.evaluate(p, b.x.data(), b.y.data(), 80, *ws80).loss_sum ==
        doctest::Approx(80.0 * l40).epsilon(1e-5));
}

TEST_CASE("train_local_delta writes trained - global, at any alignment, with a stable norm") {
  const Blobs data = make_blobs(59);
  auto m = make_mlp(5, {64, 32}, 3);  // 2595 parameters: an odd count
  const std::size_t np = m->num_params();
  std::vector<float> global(np), trained(np);
  m->init(global, 12);
  SgdOptions opt;
  opt.batch = 16;
  auto run = [&](auto&& train, std::span<float> out) {
    Xoshiro256 rng(5);
    TrainScratch scratch;
    return train(
        *m, out, std::span<const float>(global), data.view(), opt,
        [&](std::span<std::uint32_t> o) { rng.shuffle(o); }, scratch);
  };
  run(train_local, trained);
  double sq_ref = 0;
  for (std::size_t i = 0; i < np; ++i)
    sq_ref += static_cast<double>(trained[i] - global[i]) * (trained[i] - global[i]);
  std::vector<float> buf(np + 32);
  double first_norm = -1;
  for (std::size_t shift = 0; shift < 17; ++shift) {  // every alignment of the output
    CAPTURE(shift);
    std::fill(buf.begin(), buf.end(), 9.0f);
    std::span<float> out(buf.data() + shift, np);
    const TrainResult r =
        run([](auto&&... a) { return train_local_delta(std::forward<decltype(a)>(a)...); }, out);
    for (std::size_t i = 0; i < np; ++i) REQUIRE(out[i] == trained[i] - global[i]);  // exact
    CHECK(buf[shift + np] == 9.0f);
    if (shift > 0) CHECK(buf[shift - 1] == 9.0f);
    CHECK(r.delta_sq_norm == doctest::Approx(sq_ref).epsilon(1e-6));
    if (first_norm < 0) first_norm = r.delta_sq_norm;
    CHECK(r.delta_sq_norm == first_norm);  // bit-identical whatever the alignment
  }
  CHECK(first_norm > 0);
}

namespace {

// The law of one tensor under a scheme, written out from the papers (not from init.cpp):
// scale = standard deviation (normal) or bound (uniform).
struct Law {
  enum Kind { kZero, kNormal, kUniform } kind;
  double scale = 0.0;
};

Law weight_law(InitScheme s, int fan_in, int fan_out) {
  switch (s) {
    case InitScheme::kHeNormal:
      return {Law::kNormal, std::sqrt(2.0 / fan_in)};
    case InitScheme::kTorchDefault: {
      const double a = std::sqrt(5.0), gain = std::sqrt(2.0 / (1.0 + a * a));
      return {Law::kUniform, gain * std::sqrt(3.0 / fan_in)};  // = 1 / sqrt(fan_in)
    }
    case InitScheme::kXavierUniform:
      return {Law::kUniform, std::sqrt(6.0 / (fan_in + fan_out))};
    case InitScheme::kLecunNormal:
      return {Law::kNormal, std::sqrt(1.0 / fan_in)};
  }
  return {Law::kZero};
}

Law bias_law(InitScheme s, int fan_in) {
  if (s == InitScheme::kTorchDefault) return {Law::kUniform, 1.0 / std::sqrt(fan_in)};
  return {Law::kZero};
}

// Sample mean and variance within 5 standard errors of the law's (the standard error of the
// variance uses the law's kurtosis: 3 normal, 9/5 uniform); uniform draws inside [-b, b] and
// their extremes within 20 b / n of the bounds (fails with probability ~e^-10 per tensor).
void check_law(const float* v, std::size_t n, Law law, const std::string& what) {
  INFO(what << " (" << n << " values)");
  if (law.kind == Law::kZero) {
    CHECK(std::all_of(v, v + n, [](float x) { return x == 0.0f; }));
    return;
  }
  double sum = 0.0, sq = 0.0;
  float lo = v[0], hi = v[0];
  for (std::size_t i = 0; i < n; ++i) {
    sum += v[i];
    sq += static_cast<double>(v[i]) * v[i];
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
  }
  const double dn = static_cast<double>(n);
  const double mean = sum / dn, var = sq / dn - mean * mean;
  const double var0 = law.kind == Law::kNormal ? law.scale * law.scale : law.scale * law.scale / 3;
  const double kurt = law.kind == Law::kNormal ? 3.0 : 1.8;
  CHECK(std::abs(mean) < 5.0 * std::sqrt(var0 / dn));
  CHECK(std::abs(var - var0) < 5.0 * var0 * std::sqrt((kurt - 1.0) / dn));
  if (law.kind == Law::kUniform) {
    const auto b = static_cast<float>(law.scale);
    CHECK(lo >= -b);
    CHECK(hi <= b);
    CHECK(hi > law.scale * (1.0 - 20.0 / dn));
    CHECK(lo < -law.scale * (1.0 - 20.0 / dn));
  }
}

std::vector<std::function<std::unique_ptr<Model>(InitScheme)>> model_makers() {
  return {[](InitScheme s) { return make_softmax_regression(784, 10, s); },
          [](InitScheme s) {
            return make_mlp(784, {200, 100}, 10, s);
          },
          [](InitScheme s) {
            CnnOptions o;
            o.init = s;
            return make_cnn(o);
          }};
}

}  // namespace

TEST_CASE("init schemes: names, parse and to_string") {
  for (std::size_t i = 0; i < kInitSchemeNames.size(); ++i) {
    const auto s = parse_init_scheme(kInitSchemeNames[i]);
    REQUIRE(s.has_value());
    CHECK(static_cast<std::size_t>(*s) == i);
    CHECK(to_string(*s) == kInitSchemeNames[i]);
  }
  CHECK(to_string(InitScheme::kTorchDefault) == "torch_default");
  CHECK_FALSE(parse_init_scheme("he_uniform").has_value());
  CHECK_FALSE(parse_init_scheme("").has_value());
  CHECK_THROWS_AS(Cnn([] {
                    CnnOptions o;
                    o.init = static_cast<InitScheme>(7);
                    return o;
                  }()),
                  std::invalid_argument);
}

TEST_CASE("init schemes: fans of every layer") {
  const auto sm = make_softmax_regression(784, 10)->layers();
  REQUIRE(sm.size() == 1);
  CHECK((sm[0].fan_in == 784 && sm[0].fan_out == 10 && sm[0].weight_count == 7840 &&
         sm[0].bias_offset == 7840 && sm[0].bias_count == 10));
  const auto mlp = make_mlp(784, {200, 100}, 10)->layers();
  REQUIRE(mlp.size() == 3);
  CHECK((mlp[1].fan_in == 200 && mlp[1].fan_out == 100 && mlp[1].weight_count == 20000));
  const Cnn cnn(CnnOptions{});
  const auto c = cnn.layers();
  REQUIRE(c.size() == 4);
  CHECK((c[0].fan_in == 25 && c[0].fan_out == 25 * 16));       // conv 1 -> 16, 5x5
  CHECK((c[1].fan_in == 25 * 16 && c[1].fan_out == 25 * 32));  // conv 16 -> 32, 5x5
  CHECK((c[2].fan_in == 7 * 7 * 32 && c[2].fan_out == 128));   // fc
  CHECK((c[3].fan_in == 128 && c[3].fan_out == 10));           // fc
  std::size_t total = 0;
  for (const auto& l : c) total += l.weight_count + l.bias_count;
  CHECK(total == cnn.num_params());
}

TEST_CASE("init schemes: every model and tensor follows its closed-form law") {
  for (const auto& make : model_makers()) {
    for (std::size_t si = 0; si < kInitSchemeNames.size(); ++si) {
      const auto scheme = static_cast<InitScheme>(si);
      const auto m = make(scheme);
      std::vector<float> p(m->num_params(), std::numeric_limits<float>::quiet_NaN());
      m->init(p, 11);
      const auto layers = m->layers();
      for (std::size_t l = 0; l < layers.size(); ++l) {
        const ParamLayer& L = layers[l];
        const std::string tag =
            m->name() + " " + std::string(to_string(scheme)) + " layer " + std::to_string(l);
        check_law(p.data() + L.weight_offset, L.weight_count,
                  weight_law(scheme, L.fan_in, L.fan_out), tag + " weights");
        check_law(p.data() + L.bias_offset, L.bias_count, bias_law(scheme, L.fan_in),
                  tag + " bias");
      }
      // Same seed, same draws; another seed, other draws (every weight differs but a few).
      std::vector<float> q(m->num_params()), r(m->num_params());
      m->init(q, 11);
      CHECK(p == q);
      m->init(r, 12);
      std::size_t same = 0;
      for (const auto& L : layers)
        for (std::size_t i = 0; i < L.weight_count; ++i)
          same += p[L.weight_offset + i] == r[L.weight_offset + i];
      CHECK(same < m->num_params() / 1000 + 1);
    }
  }
}

TEST_CASE("init schemes: he_normal keeps the draws of the models before schemes existed") {
  // Before schemes, every model drew its weights layer after layer from one Xoshiro256(seed),
  // w = float(normal() * sqrt(2 / fan_in)), biases zero; the golden curves depend on it.
  for (const auto& make : model_makers()) {
    const auto m = make(InitScheme::kHeNormal);
    std::vector<float> p(m->num_params()), ref(m->num_params(), 0.0f);
    m->init(p, 42);
    Xoshiro256 rng(42);
    for (const auto& L : m->layers())
      for (std::size_t i = 0; i < L.weight_count; ++i)
        ref[L.weight_offset + i] = static_cast<float>(rng.normal() * std::sqrt(2.0 / L.fan_in));
    CHECK(p == ref);
  }
}

TEST_CASE(
    "write_delta_chunked: the same delta and norm as write_delta, bit for bit, chunk by chunk") {
  for (std::size_t n : {1u, 15u, 16u, 31u, 32u, 4095u, 4096u, 4097u, 10000u, 199210u}) {
    std::vector<float> trained(n), global(n);
    for (std::size_t i = 0; i < n; ++i) {
      trained[i] = std::sin(0.37f * static_cast<float>(i)) * 1e-2f;
      global[i] = std::cos(0.11f * static_cast<float>(i));
    }
    std::vector<float> a(n), b(n), seen;
    const double sa = write_delta(a, trained, global);
    std::size_t chunks = 0;
    const double sb = write_delta_chunked(b, trained, global, [&](std::span<const float> c) {
      seen.insert(seen.end(), c.begin(), c.end());
      ++chunks;
    });
    CHECK(std::memcmp(&sa, &sb, sizeof sa) == 0);
    CHECK(std::memcmp(a.data(), b.data(), n * 4) == 0);
    CHECK(std::memcmp(seen.data(), b.data(), n * 4) == 0);  // the chunks cover the delta in order
    CHECK(chunks == (n + kDeltaChunk - 1) / kDeltaChunk);
  }
}
