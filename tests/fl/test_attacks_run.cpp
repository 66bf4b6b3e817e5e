// Attacks end to end under the server coordinator: identities and schedules, the effect of model
// poisoning on FedAvg, a backdoor whose success rate is near zero before the attack starts and
// high after, free-riders, detection metrics against the ground truth, and determinism across
// thread counts with attacks on.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <string>

#include <tbb/global_control.h>

#include "sim/core/record.hpp"
#include "sim/fl/adversary.hpp"
#include "sim/fl/server.hpp"

using namespace ledgerfl;

namespace {

const char* kBase = R"(
[simulation]
rounds = 12
[clients]
count = 40
[data]
type = "synthetic"
alpha = 0.5
beta = 0.5
[model]
type = "softmax"
[training]
lr = 0.05
batch = 10
epochs = 2
[rounds]
per_round = 10
)";

struct Run {
  core::MemorySink sink;
};

std::unique_ptr<Run> run_text(const std::string& toml, int threads = 0, std::uint64_t seed = 7) {
  fl::FlRegistries regs;
  fl::register_builtin_fl(regs);
  auto doc = scenario::Document::parse(toml, "t.toml");
  auto sim = fl::build_server(doc->root(), seed, regs);
  doc->check_unused();
  std::optional<tbb::global_control> gc;
  if (threads > 0) gc.emplace(tbb::global_control::max_allowed_parallelism, threads);
  auto r = std::make_unique<Run>();
  sim->run(r->sink);
  return r;
}

double last(const std::vector<double>& v) {
  return v.empty() ? std::nan("") : v.back();
}

double sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

bool same_bits(const core::MemorySink& a, const core::MemorySink& b) {
  if (a.rounds.size() != b.rounds.size()) return false;
  for (std::size_t i = 0; i < a.rounds.size(); ++i) {
    const auto& x = a.rounds[i].metrics;
    const auto& y = b.rounds[i].metrics;
    if (x.size() != y.size()) return false;
    for (std::size_t k = 0; k < x.size(); ++k) {
      if (x[k].first != y[k].first || x[k].second.index() != y[k].second.index()) return false;
      const auto bits = [](const core::MetricValue& v) {
        std::uint64_t b = 0;
        std::visit([&](auto val) { std::memcpy(&b, &val, sizeof(b)); }, v);
        return b;
      };
      if (bits(x[k].second) != bits(y[k].second)) return false;
    }
  }
  return true;
}

std::unique_ptr<fl::Adversary> adversary_of(const std::string& toml, std::size_t clients) {
  fl::FlRegistries regs;
  fl::register_builtin_fl(regs);
  auto doc = scenario::Document::parse(toml, "t.toml");
  return fl::Adversary::build(doc->root(), 7, clients, 10, 10, regs.attacks);
}

}  // namespace

TEST_CASE("adversary: exact, disjoint identities; schedule on/off; roles") {
  const std::string toml = std::string(kBase) + R"(
[[attack]]
type = "sign_flip"
fraction = 0.25
start_round = 3
stop_round = 10
on = 2
off = 1
[[attack]]
type = "zero"
count = 4
)";
  auto adv = adversary_of(toml, 40);
  REQUIRE(adv);
  CHECK(adv->num_attacks() == 2);
  CHECK(adv->identities(0) == 10);
  CHECK(adv->identities(1) == 4);
  CHECK(adv->malicious_fraction() == doctest::Approx(14.0 / 40));
  int counts[3] = {0, 0, 0};
  for (std::size_t c = 0; c < 40; ++c) ++counts[adv->role(c)];
  CHECK(counts[0] == 26);
  CHECK(counts[1] == 10);
  CHECK(counts[2] == 4);
  CHECK(adv->identity_clients().size() == 14);
  CHECK(adv->role_name(0) == "honest");
  CHECK(adv->role_name(1) == "sign_flip");
  // start 3, on 2, off 1, stop 10: rounds 3 4 . 6 7 . 9 10
  const bool expect[] = {false, false, true, true, false, true, true, false, true, true, false};
  for (int r = 1; r <= 11; ++r) CHECK(adv->active(0, r) == expect[r - 1]);
  CHECK(adv->active(1, 1));
  CHECK(adv->active(1, 12));
  // A different seed draws other identities (same counts).
  fl::FlRegistries regs;
  fl::register_builtin_fl(regs);
  auto doc = scenario::Document::parse(toml, "t.toml");
  auto other = fl::Adversary::build(doc->root(), 8, 40, 10, 10, regs.attacks);
  CHECK(other->identity_clients() != adv->identity_clients());
}

TEST_CASE("adversary: bad attack tables are rejected with the key") {
  auto fails = [](const std::string& extra) {
    try {
      adversary_of(std::string(kBase) + extra, 40);
    } catch (const scenario::InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(fails("[[attack]]\ntype = \"sign_flip\"\nfraction = 0.2\ncount = 3\n").find("count") !=
        std::string::npos);
  CHECK(fails("[[attack]]\ntype = \"sign_flop\"\nfraction = 0.2\n").find("sign_flip") !=
        std::string::npos);
  CHECK(fails("[[attack]]\ntype = \"sign_flip\"\nfraction = 0.001\n").find("fraction") !=
        std::string::npos);
  CHECK(fails("[[attack]]\ntype = \"sign_flip\"\ncount = 30\n[[attack]]\ntype = \"zero\"\n"
              "count = 20\n")
            .find("identities") != std::string::npos);
  CHECK(fails("[[attack]]\ntype = \"sign_flip\"\ncount = 3\nstart_round = 5\nstop_round = 2\n")
            .find("stop_round") != std::string::npos);
}

TEST_CASE("model poisoning hurts FedAvg; the columns count the malicious updates") {
  const auto clean = run_text(kBase);
  const std::string toml = std::string(kBase) + R"(
[[attack]]
type = "scaling"
fraction = 0.3
factor = -10.0
)";
  const auto att = run_text(toml);
  const double acc_clean = last(clean->sink.column("test_accuracy"));
  const double acc_att = last(att->sink.column("test_accuracy"));
  CHECK(acc_clean > 0.5);
  CHECK(acc_att < acc_clean);
  // The global objective is ascended: the test loss ends far above the clean run's.
  CHECK(last(att->sink.column("test_loss")) > 2.0 * last(clean->sink.column("test_loss")));
  // ~30% of 10 per round are malicious; FedAvg flags nobody.
  const auto sub = att->sink.column("malicious_submitted");
  const auto inc = att->sink.column("malicious_included");
  REQUIRE(sub.size() == 12);
  CHECK(sum(sub) > 12);
  CHECK(sum(sub) < 12 * 10 * 0.6);
  CHECK(sum(inc) == sum(sub));
  for (double t : att->sink.column("detection_fpr")) CHECK(t == 0.0);
  // No success metric for an untargeted attack.
  for (double a : att->sink.column("attack_success_rate")) CHECK(std::isnan(a));
}

TEST_CASE("backdoor: success rate near zero before the attack starts, high after") {
  const std::string toml = std::string(kBase) + R"(
[[attack]]
type = "backdoor"
fraction = 0.3
start_round = 7
target = 0
poison_fraction = 0.5
value = 5.0
)";
  const auto r = run_text(toml);
  const auto asr = r->sink.column("attack_success_rate");
  REQUIRE(asr.size() == 12);
  for (int i = 0; i < 6; ++i) CHECK(asr[i] < 0.15);
  CHECK(asr[11] > 0.6);
  CHECK(asr[11] > asr[5] + 0.4);
  const auto sub = r->sink.column("malicious_submitted");
  CHECK(sum({sub.begin(), sub.begin() + 6}) == 0);
  CHECK(sum({sub.begin() + 6, sub.end()}) > 0);
}

TEST_CASE("free-riders: no training, their loss is left out, the run still learns") {
  const std::string toml = std::string(kBase) + R"(
[[attack]]
type = "zero"
fraction = 0.2
)";
  const auto r = run_text(toml);
  for (double l : r->sink.column("train_loss")) CHECK(std::isfinite(l));
  CHECK(last(r->sink.column("test_accuracy")) > 0.4);
  CHECK(sum(r->sink.column("malicious_submitted")) > 0);
}

TEST_CASE("attacks are deterministic across thread counts (sync and async)") {
  const std::string toml = std::string(kBase) + R"(
[[attack]]
type = "alie"
fraction = 0.2
[[attack]]
type = "label_flip"
fraction = 0.1
knowledge = "own"
[[attack]]
type = "disguised"
count = 3
)";
  const auto a = run_text(toml, 1);
  const auto b = run_text(toml, 2);
  CHECK(same_bits(a->sink, b->sink));
  std::string t2 = toml;
  t2.replace(t2.find("per_round = 10"), 14, "per_round = 10\nmode = \"async\"");
  const auto c = run_text(t2, 1);
  const auto d = run_text(t2, 2);
  CHECK(same_bits(c->sink, d->sink));
  CHECK(sum(c->sink.column("malicious_submitted")) > 0);
}

TEST_CASE("a robust rule's bound is checked with the round size and the attackers' share") {
  auto message = [](const std::string& extra) {
    try {
      run_text(std::string(kBase) + extra);
    } catch (const scenario::InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // per_round = 10: Krum tolerates f = 3 (10 > 8), not f = 4.
  CHECK(message("[aggregator]\ntype = \"krum\"\nf = 4\n").find("n > 2f + 2") != std::string::npos);
  CHECK(message("[aggregator]\ntype = \"krum\"\n[[attack]]\ntype = \"sign_flip\"\nfraction = "
                "0.4\n")
            .find("f = 4 (the expected Byzantine count") != std::string::npos);
  // f = 3 is admissible: the run goes (and Krum excludes all but one update per round).
  const auto r = run_text(std::string(kBase) +
                          "[aggregator]\ntype = \"krum\"\n[[attack]]\ntype = \"sign_flip\"\n"
                          "fraction = 0.3\n");
  for (double fpr : r->sink.column("detection_fpr")) CHECK(fpr > 0.5);
}
