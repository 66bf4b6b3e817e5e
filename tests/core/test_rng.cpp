// Tests of keyed random streams: independence from other streams' draws, and distributions.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "sim/core/rng.hpp"

using namespace ledgerfl::core;

TEST_CASE("a stream is a pure function of its key") {
  Rng a(42, "partition", 3, 7), b(42, "partition", 3, 7);
  for (int i = 0; i < 100; ++i) CHECK(a.next() == b.next());
}

TEST_CASE("drawing from one stream never shifts another") {
  // Stream X's numbers are the same whether or not stream Y was used in between.
  Rng x1(1, "x"), y(1, "y");
  std::vector<std::uint64_t> alone;
  for (int i = 0; i < 50; ++i) alone.push_back(x1.next());
  Rng x2(1, "x");
  std::vector<std::uint64_t> interleaved;
  for (int i = 0; i < 50; ++i) {
    for (int k = 0; k < 3; ++k) (void)y.normal();
    interleaved.push_back(x2.next());
  }
  CHECK(alone == interleaved);
}

TEST_CASE("every key component changes the stream") {
  const std::uint64_t base = Rng(1, "p", 2, 3).next();
  CHECK(Rng(2, "p", 2, 3).next() != base);
  CHECK(Rng(1, "q", 2, 3).next() != base);
  CHECK(Rng(1, "p", 3, 3).next() != base);
  CHECK(Rng(1, "p", 2, 4).next() != base);
  CHECK(Rng(1, "p", 3, 2).next() != base);  // swapping entity and round differs too
  CHECK(mix_key(1, 2, 3, 4) != mix_key(1, 2, 4, 3));
}

TEST_CASE("streams of neighbouring keys are uncorrelated") {
  // Correlation of first draws across 20000 consecutive entity ids ~ N(0, 1/n).
  const int n = 20000;
  double sx = 0, sy = 0, sxy = 0, sxx = 0, syy = 0;
  for (int i = 0; i < n; ++i) {
    const double x = Rng(5, "c", i, 0).uniform(), y = Rng(5, "c", i + 1, 0).uniform();
    sx += x, sy += y, sxy += x * y, sxx += x * x, syy += y * y;
  }
  const double cov = sxy / n - (sx / n) * (sy / n);
  const double r = cov / std::sqrt((sxx / n - sx * sx / n / n) * (syy / n - sy * sy / n / n));
  CHECK(std::abs(r) < 4.0 / std::sqrt(n));
}

TEST_CASE("distribution moments") {
  Rng r(9, "moments");
  const int n = 200000;
  double s = 0, ss = 0;
  for (int i = 0; i < n; ++i) {
    const double z = r.normal();
    s += z, ss += z * z;
  }
  CHECK(std::abs(s / n) < 0.02);
  CHECK(std::abs(ss / n - 1.0) < 0.02);
  double e = 0;
  for (int i = 0; i < n; ++i) e += r.exponential(4.0);
  CHECK(e / n == doctest::Approx(0.25).epsilon(0.02));
  for (double shape : {0.3, 1.0, 2.5}) {
    double g = 0;
    for (int i = 0; i < n; ++i) g += r.gamma(shape);
    CHECK(g / n == doctest::Approx(shape).epsilon(0.03));
  }
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) counts[r.below(7)]++;
  double chi2 = 0;
  for (int c : counts) chi2 += (c - 10000.0) * (c - 10000.0) / 10000.0;
  CHECK(chi2 < 22.46);  // chi-square, 6 dof, p = 0.001
  double p = 0;
  for (int i = 0; i < n; ++i) p += r.pareto(1.0, 3.0);
  CHECK(p / n == doctest::Approx(1.5).epsilon(0.03));  // mean = a x_m / (a - 1)
}

TEST_CASE("dirichlet sums to one and concentrates as alpha grows") {
  Rng r(3, "dir");
  std::vector<double> p(10);
  auto spread = [&](double alpha) {
    double var = 0;
    for (int t = 0; t < 200; ++t) {
      r.dirichlet(alpha, p);
      CHECK(std::accumulate(p.begin(), p.end(), 0.0) == doctest::Approx(1.0));
      for (double x : p) var += (x - 0.1) * (x - 0.1);
    }
    return var;
  };
  CHECK(spread(0.1) > 10 * spread(100.0));
}

TEST_CASE("shuffle is a permutation") {
  Rng r(1, "shuffle");
  std::vector<int> v(1000);
  std::iota(v.begin(), v.end(), 0);
  r.shuffle(std::span<int>(v));
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 1000; ++i) CHECK(sorted[i] == i);
  int fixed = 0;
  for (int i = 0; i < 1000; ++i) fixed += v[i] == i;
  CHECK(fixed < 10);
}
