// Reputation: closed-form sequences of the beta reputation with forgetting and of the EMA.
#include <doctest/doctest.h>

#include <cmath>

#include "sim/economy/registries.hpp"

using namespace ledgerfl;

TEST_CASE("beta reputation: alpha, beta and value follow the recursion in closed form") {
  economy::BetaReputation b(0.5, 2);
  CHECK(b.value(0) == doctest::Approx(0.5));  // no evidence: Beta(1, 1) mean
  b.update(0, 1.0, true);                     // alpha 1, beta 0
  CHECK(b.value(0) == doctest::Approx(2.0 / 3.0));
  b.update(0, 1.0, true);  // alpha 0.5 + 1 = 1.5
  CHECK(b.alpha(0) == doctest::Approx(1.5));
  CHECK(b.value(0) == doctest::Approx(2.5 / 3.5));
  b.update(0, 0.8, false);  // rejected: alpha 0.75, beta 1
  CHECK(b.alpha(0) == doctest::Approx(0.75));
  CHECK(b.beta(0) == doctest::Approx(1.0));
  CHECK(b.value(0) == doctest::Approx(1.75 / 3.75));
  b.update(0, 0.25, true);  // alpha 0.375 + 0.25, beta 0.5 + 0.75
  CHECK(b.value(0) == doctest::Approx((0.625 + 1) / (0.625 + 1.25 + 2)));
  CHECK(b.value(1) == doctest::Approx(0.5));  // untouched

  // Always positive with forgetting lambda: alpha -> 1/(1 - lambda), value -> (1/(1-l) + 1) /
  // (1/(1-l) + 2). lambda = 0.9: alpha -> 10, value -> 11/12. After t updates alpha =
  // (1 - 0.9^t) / 0.1.
  economy::BetaReputation g(0.9, 1);
  for (int t = 1; t <= 200; ++t) {
    g.update(0, 1.0, true);
    if (t == 10) CHECK(g.alpha(0) == doctest::Approx((1 - std::pow(0.9, 10)) / 0.1));
  }
  CHECK(g.value(0) == doctest::Approx(11.0 / 12.0));
  // Without forgetting (lambda = 1) it is the count ratio (r + 1) / (r + s + 2).
  economy::BetaReputation nf(1.0, 1);
  for (int t = 0; t < 7; ++t) nf.update(0, 1.0, true);
  for (int t = 0; t < 3; ++t) nf.update(0, 0.0, true);
  CHECK(nf.value(0) == doctest::Approx(8.0 / 12.0));
}

TEST_CASE("ema reputation: (1 - g)^t decay towards the scores") {
  economy::EmaReputation e(0.3, 0.5, 1);
  CHECK(e.value(0) == doctest::Approx(0.5));
  e.update(0, 1.0, true);
  CHECK(e.value(0) == doctest::Approx(0.65));
  e.update(0, 0.9, false);  // rejected counts 0
  CHECK(e.value(0) == doctest::Approx(0.455));
  // Constant score x for t steps: value = x + (v0 - x)(1 - g)^t.
  economy::EmaReputation c(0.3, 0.2, 1);
  for (int t = 0; t < 12; ++t) c.update(0, 0.9, true);
  CHECK(c.value(0) == doctest::Approx(0.9 + (0.2 - 0.9) * std::pow(0.7, 12)));
}

TEST_CASE("reputation resize, clone and bad input") {
  economy::EconomyRegistries regs;
  economy::register_builtin_economy(regs);
  auto doc = scenario::Document::parse("[b]\nforgetting = 0.5\n[e]\ngamma = 0.5\ninitial = 0.1\n",
                                       "t.toml");
  auto b = regs.reputation.find("beta")->factory(doc->root().table("b"));
  auto e = regs.reputation.find("ema")->factory(doc->root().table("e"));
  doc->check_unused();
  for (auto* r : {b.get(), e.get()}) {
    r->resize(3);
    CHECK(r->size() == 3);
    r->update(2, 1.0, true);
    auto snap = r->clone();
    const double v = r->value(2);
    r->update(2, 0.0, false);
    CHECK(snap->value(2) == v);  // the clone is independent
    CHECK(r->value(2) < v);
    CHECK(snap->name() == r->name());
    CHECK_THROWS_WITH_AS(r->update(3, 0.5, true), doctest::Contains("unknown account 3"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(r->update(0, 1.5, true), doctest::Contains("not in [0, 1]"),
                         std::invalid_argument);
    CHECK_THROWS_AS(r->value(5), std::invalid_argument);
  }
  CHECK(e->value(0) == doctest::Approx(0.1));                        // the configured initial value
  CHECK(b->value(2) == doctest::Approx((0.5 + 1) / (0.5 + 1 + 2)));  // lambda = 0.5 read
  auto bad = scenario::Document::parse("[b]\nforgetting = 1.5\n", "t.toml");
  CHECK_THROWS_WITH_AS(regs.reputation.find("beta")->factory(bad->root().table("b")),
                       doctest::Contains("b.forgetting"), scenario::InputError);
}
