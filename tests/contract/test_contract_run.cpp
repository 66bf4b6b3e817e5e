// The contract coordinator end to end, built through the world like the CLI does: supply
// conservation every round, determinism across thread counts, gas totals in closed form,
// a malicious validator minority, one-line switching to the server coordinator.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>

#include <tbb/global_control.h>

#include "sim/contract/audit.hpp"
#include "sim/contract/gas.hpp"
#include "sim/core/record.hpp"
#include "sim/scenario/params.hpp"
#include "sim/world/world.hpp"
#include "tests/contract/sink_compare.hpp"

using namespace ledgerfl;

namespace {

const char* kScenario = R"(
[simulation]
rounds = 5
[clients]
count = 30
[data]
type = "synthetic"
alpha = 1.0
beta = 1.0
[model]
type = "softmax"
[training]
lr = 0.05
batch = 10
epochs = 1
[rounds]
per_round = 5
over_selection = 0.2
deadline = "60s"
[devices]
flops = {type = "lognormal", median = 1e8, sigma = 1.0}
[coordinator]
type = "contract"
[contract]
min_stake = 100
stake = 150
validator_stake = 1000
[contract.rewards]
per_round = 700
[network]
validators = 4
[network.topology]
type = "complete"
[network.bandwidth]
type = "classes"
names = ["dc"]
share = [1.0]
upload = [100e6]
download = [100e6]
[chain.consensus]
type = "bft"
[workload]
type = "none"
)";

struct Run {
  core::MemorySink sink;
};

std::unique_ptr<Run> run(const std::string& text, std::vector<std::string> sets = {},
                         int threads = 0) {
  static world::Registries regs;
  auto doc = scenario::Document::parse(text, "t.toml");
  for (const auto& s : sets) doc->apply_override(s);
  std::optional<tbb::global_control> gc;
  if (threads > 0) gc.emplace(tbb::global_control::max_allowed_parallelism, threads);
  world::Simulation sim = world::build(regs, doc->root(), 3);
  doc->check_unused();
  auto r = std::make_unique<Run>();
  sim.run(r->sink);
  return r;
}

using testing::table;
bool same_results(const core::MemorySink& a, const core::MemorySink& b) {
  return testing::same_results(a, b,
                               {"/clients", "/ledger/blocks", "/ledger/txs", "/contract_summary"});
}

}  // namespace

TEST_CASE("contract run: token supply changes only by mint and burn, every round") {
  auto r = run(kScenario, {"contract.slash_dissent=0.2", "contract.malicious_validators=[3]"});
  const auto supply = r->sink.column("token_supply");
  const auto minted = r->sink.column("minted");
  const auto burned = r->sink.column("burned");
  REQUIRE(supply.size() == 5);
  // Genesis: 30 clients x 150 + 4 validators x 1000 (+ no requester balance).
  double expect = 30 * 150 + 4 * 1000;
  for (std::size_t i = 0; i < supply.size(); ++i) {
    expect += minted[i] - burned[i];
    CHECK(supply[i] == expect);
  }
  // The malicious validator dissented and was slashed (burned) in every round.
  double burned_total = 0;
  for (double b : burned) burned_total += b;
  CHECK(burned_total > 0);
  for (double w : r->sink.column("wrong_result")) CHECK(w == 0);
  for (double f : r->sink.column("round_failed")) CHECK(f == 0);
  for (double d : r->sink.column("dissenting_votes")) CHECK(d == 1);
}

TEST_CASE("contract run: bit-identical for 1 and 2 threads") {
  auto a = run(kScenario, {}, 1);
  auto b = run(kScenario, {}, 2);
  CHECK(same_results(a->sink, b->sink));
  auto c = run(kScenario, {"contract.storage=\"onchain\""}, 2);
  CHECK_FALSE(same_results(a->sink, c->sink));  // the comparison can fail
}

TEST_CASE("contract run: registration gas totals the closed form; K updates per round") {
  auto r = run(kScenario);
  const contract::GasSchedule g;
  double reg = 0;
  for (double x : r->sink.column("gas_register")) reg += x;
  CHECK(reg == 30.0 * static_cast<double>(contract::register_cost(g).gas));
  for (double k : r->sink.column("included")) CHECK(k <= 5);
  // The test accuracy moved: the contract's aggregates were applied.
  const auto acc = r->sink.column("test_accuracy");
  CHECK(acc.back() > acc.front());
  // One /clients row per (round, participant): ceil(5 x 1.2) = 6 per round.
  const auto* clients = table(r->sink, "/clients");
  REQUIRE(clients != nullptr);
  CHECK(clients->rows.size() == 5 * 6);
}

TEST_CASE("contract run: a malicious third makes every round fail; the model stays") {
  auto r = run(kScenario, {"contract.malicious_validators=[2,3]"});
  for (double f : r->sink.column("round_failed")) CHECK(f == 1);
  for (double v : r->sink.column("model_version")) CHECK(v == 0);
}

TEST_CASE("coordinator switch: the same scenario runs under the server with one line") {
  auto s = run(kScenario, {"coordinator.type=\"server\""});
  CHECK(s->sink.rounds.size() == 5);
  CHECK(table(s->sink, "/ledger/blocks") == nullptr);
  bool has_gas = false;
  for (const auto& [k, v] : s->sink.rounds[0].metrics) has_gas = has_gas || k == "gas_used";
  CHECK_FALSE(has_gas);
}

TEST_CASE("contract audit: state digests, commitments and recorded updates; a flipped byte fails") {
  auto r = run(kScenario, {"contract.record_updates=true"});
  contract::RecordedTables t;
  for (const auto& [name, tab] : r->sink.tables)
    t[name] = chain::RecordedTable{tab->columns, tab->rows};
  std::ostringstream ok;
  CHECK(contract::audit_contract(t, ok) == 0);
  CHECK(ok.str().find("contract OK") != std::string::npos);
  REQUIRE(t.count("/contract/updates"));
  {  // one byte of one stored update
    auto bad = t;
    auto& cell = bad["/contract/updates"].rows[7][1];
    std::get<core::Hash32>(cell)[3] ^= 0x01;
    std::ostringstream msg;
    CHECK(contract::audit_contract(bad, msg) == 1);
    CHECK(msg.str().find("do not hash to its commitment") != std::string::npos);
  }
  {  // a commitment rewritten (its transaction no longer matches)
    auto bad = t;
    std::get<core::Hash32>(bad["/contract/commitments"].rows[0][2])[0] ^= 0x80;
    std::ostringstream msg;
    CHECK(contract::audit_contract(bad, msg) == 1);
  }
  {  // a recorded application state replaced
    auto bad = t;
    std::get<core::Hash32>(bad["/contract/state"].rows[2][1])[5] ^= 0x10;
    std::ostringstream msg;
    CHECK(contract::audit_contract(bad, msg) == 1);
    CHECK(msg.str().find("state_digest") != std::string::npos);
  }
}
