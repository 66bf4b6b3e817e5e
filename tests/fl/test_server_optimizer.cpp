// Server optimizer update equations on tiny hand-computed examples (Reddi et al. 2021, Alg. 2).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "sim/fl/server_optimizer.hpp"

using namespace ledgerfl::fl;

TEST_CASE("server sgd and fedavgm") {
  std::vector<float> x{1.0f, -1.0f};
  const std::vector<float> d{0.5f, 0.25f};
  auto sgd = make_server_sgd(2.0);
  sgd->apply(x, d);
  CHECK(x[0] == doctest::Approx(2.0));
  CHECK(x[1] == doctest::Approx(-0.5));

  std::vector<float> y{0.0f};
  auto m = make_fedavgm(1.0, 0.5);
  const std::vector<float> g{1.0f};
  m->apply(y, g);  // v = 1, y = 1
  m->apply(y, g);  // v = 1.5, y = 2.5
  CHECK(y[0] == doctest::Approx(2.5));
}

TEST_CASE("fedadam, fedyogi, fedadagrad: two steps by hand") {
  AdaptiveOptions o;
  o.lr = 0.1;
  o.beta1 = 0.9;
  o.beta2 = 0.99;
  o.tau = 0.01;
  const std::vector<float> d1{0.2f}, d2{-0.1f};
  // Hand computation, v0 = tau^2 = 1e-4, m0 = 0.
  // Step 1: m = 0.02.
  //   Adam:    v = 0.99e-4 + 0.01*0.04 = 4.99e-4
  //   Yogi:    v = 1e-4 - 0.01*0.04*sign(1e-4 - 0.04) = 1e-4 + 4e-4 = 5e-4
  //   Adagrad: v = 1e-4 + 0.04 = 0.0401
  // Step 2: m = 0.9*0.02 - 0.01 = 0.008, g^2 = 0.01.
  //   Adam:    v = 0.99*4.99e-4 + 1e-4 = 5.9401e-4
  //   Yogi:    v = 5e-4 - 0.01*0.01*sign(5e-4 - 0.01) = 6e-4
  //   Adagrad: v = 0.0501
  auto expect = [&](double v1, double v2) {
    const double x1 = 0.1 * 0.02 / (std::sqrt(v1) + 0.01);
    return x1 + 0.1 * 0.008 / (std::sqrt(v2) + 0.01);
  };
  struct Case {
    std::unique_ptr<ServerOptimizer> opt;
    double v1, v2;
  };
  Case cases[] = {{make_fedadam(o), 4.99e-4, 5.9401e-4},
                  {make_fedyogi(o), 5e-4, 6e-4},
                  {make_fedadagrad(o), 0.0401, 0.0501}};
  for (auto& c : cases) {
    std::vector<float> x{0.0f};
    c.opt->apply(x, d1);
    c.opt->apply(x, d2);
    CHECK_MESSAGE(x[0] == doctest::Approx(expect(c.v1, c.v2)).epsilon(1e-5), c.opt->name());
  }
  // Yogi and Adam differ (the test would not catch a swapped rule otherwise).
  CHECK(expect(4.99e-4, 5.9401e-4) != doctest::Approx(expect(5e-4, 6e-4)).epsilon(1e-7));
}
