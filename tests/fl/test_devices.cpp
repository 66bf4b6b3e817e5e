// Device and availability models: profiles are pure functions of (seed, client); Bernoulli and
// Markov on/off availability match their stationary probability and (Markov) autocorrelation,
// including over skipped rounds (the closed-form jump).
#include <doctest/doctest.h>

#include <cmath>

#include "sim/agents/device.hpp"

using namespace ledgerfl;

namespace {
agents::DeviceOptions options(const std::string& toml) {
  static agents::DistributionRegistry reg{"distribution", ""};
  if (reg.entries().empty()) agents::register_builtin_distributions(reg);
  auto doc = scenario::Document::parse(toml, "t.toml");
  auto o = agents::read_device_options(doc->root().table("devices"), reg);
  doc->check_unused();
  return o;
}
}  // namespace

TEST_CASE("device profiles are deterministic per client and follow their distribution") {
  agents::Population pop(100000, 5, options(R"(
[devices]
flops = {type = "lognormal", median = 1e9, sigma = 0.5}
upload = {type = "uniform", low = "1Mbps", high = "3Mbps"}
)"));
  CHECK(pop.profile(42).flops == pop.profile(42).flops);
  CHECK(pop.profile(42).flops != pop.profile(43).flops);
  std::vector<double> f;
  double up = 0;
  for (std::size_t c = 0; c < 20000; ++c) {
    f.push_back(pop.profile(c).flops);
    up += pop.profile(c).upload_bps;
  }
  std::nth_element(f.begin(), f.begin() + 10000, f.end());
  CHECK(f[10000] == doctest::Approx(1e9).epsilon(0.03));  // median
  CHECK(up / 20000 == doctest::Approx(2e6).epsilon(0.01));
  CHECK(pop.profile(7).download_bps == doctest::Approx(50e6));  // default
  CHECK(pop.profile(7).latency_s == doctest::Approx(0.05));
}

TEST_CASE("Bernoulli availability has the stated rate") {
  agents::Population pop(5000, 1, options(R"(
[devices]
availability = {type = "bernoulli", p_online = 0.3}
)"));
  int on = 0;
  for (std::size_t c = 0; c < 5000; ++c)
    for (int r = 1; r <= 4; ++r) on += pop.online(c, r);
  CHECK(on / 20000.0 == doctest::Approx(0.3).epsilon(0.05));
}

TEST_CASE("Markov availability: stationary rate and lag-k autocorrelation lambda^k") {
  const double pi = 0.7, lambda = 0.6;
  auto stats = [&](int step) {
    agents::Population pop(20000, 2, options(R"(
[devices]
availability = {type = "markov", p_online = 0.7, persistence = 0.6}
)"));
    // Observe every client at rounds 1, 1 + step, 1 + 2 step (skipped rounds use the jump).
    double n = 0, s1 = 0, s2 = 0, s12 = 0;
    for (std::size_t c = 0; c < 20000; ++c) {
      int prev = pop.online(c, 1);
      for (int k = 1; k <= 2; ++k) {
        const int cur = pop.online(c, 1 + k * step);
        n += 1, s1 += prev, s2 += cur, s12 += prev * cur;
        prev = cur;
      }
    }
    const double m1 = s1 / n, m2 = s2 / n;
    const double corr = (s12 / n - m1 * m2) / std::sqrt(m1 * (1 - m1) * m2 * (1 - m2));
    return std::pair{m2, corr};
  };
  for (int step : {1, 3}) {
    auto [rate, corr] = stats(step);
    CHECK(rate == doctest::Approx(pi).epsilon(0.02));
    CHECK(corr == doctest::Approx(std::pow(lambda, step)).epsilon(0.08));
  }
}
