// Client attacks under the contract coordinator: crafted updates are committed as submitted (the
// audit re-hashes them), roles reach /clients, free-riders earn less than honest clients under
// contribution-based rewards, and a run with attacks is bit-identical for 1 and 2 threads.
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include <tbb/global_control.h>

#include "sim/contract/audit.hpp"
#include "sim/core/record.hpp"
#include "sim/scenario/params.hpp"
#include "sim/world/world.hpp"

using namespace ledgerfl;

namespace {

const char* kAttacked = R"(
[simulation]
rounds = 6
[clients]
count = 30
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
per_round = 8
deadline = "60s"
[coordinator]
type = "contract"
[contract]
min_stake = 100
stake = 150
validator_stake = 1000
[contract.rewards]
per_round = 800
[network]
validators = 4
[network.topology]
type = "complete"
[chain.consensus]
type = "bft"
[workload]
type = "none"
[[attack]]
type = "zero"
fraction = 0.3
)";

std::unique_ptr<core::MemorySink> run(std::vector<std::string> sets = {}, int threads = 0) {
  static world::Registries regs;
  auto doc = scenario::Document::parse(kAttacked, "t.toml");
  for (const auto& s : sets) doc->apply_override(s);
  std::optional<tbb::global_control> gc;
  if (threads > 0) gc.emplace(tbb::global_control::max_allowed_parallelism, threads);
  world::Simulation sim = world::build(regs, doc->root(), 5);
  doc->check_unused();
  auto sink = std::make_unique<core::MemorySink>();
  sim.run(*sink);
  return sink;
}

const core::MemorySink::Table& table(const core::MemorySink& s, const std::string& name) {
  for (const auto& [n, t] : s.tables)
    if (n == name) return *t;
  throw std::runtime_error("no table " + name);
}

std::size_t col(const core::MemorySink::Table& t, const std::string& name) {
  for (std::size_t k = 0; k < t.columns.size(); ++k)
    if (t.columns[k].name == name) return k;
  throw std::runtime_error("no column " + name);
}

std::int64_t i64(const core::Cell& c) {
  return std::get<std::int64_t>(c);
}

// Mean reward per included update, by role (0 honest, 1 the attack).
std::map<std::int64_t, double> reward_per_inclusion(const core::MemorySink& s) {
  const auto& t = table(s, "/clients");
  const std::size_t role = col(t, "role"), reward = col(t, "reward"), inc = col(t, "included");
  std::map<std::int64_t, double> sum, n;
  for (const auto& row : t.rows) {
    if (i64(row[inc]) == 0) continue;
    sum[i64(row[role])] += static_cast<double>(i64(row[reward]));
    n[i64(row[role])] += 1;
  }
  std::map<std::int64_t, double> out;
  for (const auto& [r, x] : sum) out[r] = x / n[r];
  return out;
}

}  // namespace

TEST_CASE("contract with attacks: roles in /clients, crafted updates audited, attacker columns") {
  auto s = run({"attack[0].type=\"sign_flip\"", "contract.record_updates=true"});
  const auto& clients = table(*s, "/clients");
  const std::size_t role = col(clients, "role");
  std::int64_t attackers = 0;
  for (const auto& row : clients.rows) attackers += i64(row[role]) == 1;
  CHECK(attackers > 0);
  CHECK(attackers < static_cast<std::int64_t>(clients.rows.size()));
  contract::RecordedTables t;
  for (const auto& [name, tab] : s->tables) t[name] = chain::RecordedTable{tab->columns, tab->rows};
  std::ostringstream msg;
  CHECK(contract::audit_contract(t, msg) == 0);  // commitments are of the sign-flipped updates
  double sub = 0;
  for (double x : s->column("malicious_submitted")) sub += x;
  CHECK(sub > 0);
  CHECK(s->column("attacker_stake").size() == 6);
  const auto& summary = table(*s, "/contract_summary");
  CHECK(std::isfinite(std::get<double>(summary.rows[0][col(summary, "attacker_roi")])));
}

TEST_CASE("free-riders earn less than honest clients under accuracy_gain and shapley_mc") {
  for (const std::string score : {"accuracy_gain", "shapley_mc"}) {
    CAPTURE(score);
    auto s = run({std::string("contract.rewards.score=\"") + score + "\""});
    const auto per = reward_per_inclusion(*s);
    REQUIRE(per.count(0));
    REQUIRE(per.count(1));
    MESSAGE(score << ": reward per included update, free-rider " << per.at(1) << ", honest "
                  << per.at(0));
    // A zero update is not worthless to Shapley under FedAvg: it dilutes the mean, which can
    // help when local steps overshoot; it still earns clearly less.
    CHECK(per.at(1) < (score == "accuracy_gain" ? 0.5 : 0.75) * per.at(0));
  }
  // Under "accepted" every included update earns the same: free-riding pays.
  auto s = run({"contract.rewards.score=\"accepted\""});
  const auto per = reward_per_inclusion(*s);
  CHECK(per.at(1) == doctest::Approx(per.at(0)).epsilon(0.05));
}

TEST_CASE("contract with attacks: bit-identical for 1 and 2 threads") {
  const std::vector<std::string> sets = {"attack[0].type=\"alie\""};
  auto a = run(sets, 1);
  auto b = run(sets, 2);
  REQUIRE(a->rounds.size() == b->rounds.size());
  for (std::size_t i = 0; i < a->rounds.size(); ++i) {
    const auto& x = a->rounds[i].metrics;
    const auto& y = b->rounds[i].metrics;
    REQUIRE(x.size() == y.size());
    for (std::size_t k = 0; k < x.size(); ++k) {
      std::uint64_t p = 0, q = 0;
      std::visit([&](auto v) { std::memcpy(&p, &v, sizeof p); }, x[k].second);
      std::visit([&](auto v) { std::memcpy(&q, &v, sizeof q); }, y[k].second);
      CHECK(p == q);
    }
  }
  const auto &ca = table(*a, "/clients"), &cb = table(*b, "/clients");
  CHECK(ca.rows == cb.rows);
}
