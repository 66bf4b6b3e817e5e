// Tests for ParamView reads: positioned type, range, unit and choice errors; defaults; loading.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/scenario/params.hpp"
#include "sim/scenario/registry.hpp"
#include "tests/scenario/error_of.hpp"

using namespace ledgerfl;
using namespace ledgerfl::scenario;
using ledgerfl::scenario::test::error_of;

namespace {

// Positions in these texts are 1-based line:column of the value (or key) in question.
constexpr std::string_view kBad = R"([learning]
lr = "fast"
mode = "synch"
rounds = 2.5
[learning.model]
hidden = 0
[network]
latency = "10 parsecs"
jitter = "10 msec"
timeout = 5
bandwidth = "100 Mbit/s"
buffer = "12 kib"
)";

}  // namespace

TEST_CASE("wrong type: file:line:col, key path, what was expected and what was given") {
  auto doc = Document::parse(kBad, "q.toml");
  auto learning = doc->root().table("learning");
  CHECK(error_of([&] { learning.number("lr", 0.1, Bounds::positive()); }) ==
        "q.toml:2:6: learning.lr: expected a number, got string \"fast\"");
  CHECK(error_of([&] { learning.integer("mode", 1); }) ==
        "q.toml:3:8: learning.mode: expected an integer, got string \"synch\"");
  CHECK(error_of([&] { learning.boolean("lr", false); }) ==
        "q.toml:2:6: learning.lr: expected true or false, got string \"fast\"");
  CHECK(error_of([&] { learning.string("rounds", "x"); }) ==
        "q.toml:4:10: learning.rounds: expected a string, got float 2.5");
  CHECK(error_of([&] { learning.table("lr"); }) ==
        "q.toml:2:6: learning.lr: expected a table, got string \"fast\"");
  CHECK(error_of([&] { learning.optional_table("rounds"); }) ==
        "q.toml:4:10: learning.rounds: expected a table, got float 2.5");
}

TEST_CASE("integers: 2.5 is an error, 3.0 is 3, and a float key takes an integer") {
  auto doc = Document::parse("a = 2.5\nb = 3.0\nc = 1\nd = 1e300\n", "q.toml");
  auto r = doc->root();
  CHECK(error_of([&] { r.integer("a", 0); }) ==
        "q.toml:1:5: a: expected an integer, got float 2.5");
  CHECK(r.integer("b", 0) == 3);
  CHECK(r.number("c", 0.5) == 1.0);
  CHECK(error_of([&] { r.integer("d", 0); }) ==
        "q.toml:4:5: d: expected an integer, got float 1e+300");
}

TEST_CASE("out of range: the value and the rule") {
  auto doc = Document::parse("lr = -0.1\np = 1.5\nn = 0\nk = 7\nq = 0.0\nx = nan\n", "q.toml");
  auto r = doc->root();
  CHECK(error_of([&] { r.number("lr", 0.1, Bounds::positive()); }) ==
        "q.toml:1:6: lr: -0.1 is out of range: must be > 0");
  CHECK(error_of([&] { r.number("p", 0.5, Bounds::probability()); }) ==
        "q.toml:2:5: p: 1.5 is out of range: must be in [0, 1]");
  CHECK(error_of([&] { r.integer("n", 1, Bounds::at_least(1)); }) ==
        "q.toml:3:5: n: 0 is out of range: must be >= 1");
  CHECK(error_of([&] {
          r.integer("k", 1, Bounds{std::nullopt, 5.0, false, false});
        }) == "q.toml:4:5: k: 7 is out of range: must be <= 5");
  CHECK(error_of([&] {
          r.number("q", 0.5, Bounds{0.0, 1.0, true, true});
        }) == "q.toml:5:5: q: 0 is out of range: must be in (0, 1)");
  CHECK(error_of([&] { r.number("x", 0.5); }) ==
        "q.toml:6:5: x: expected a finite number, got float nan");
  // In-range values pass, including the closed ends.
  auto ok = Document::parse("p = 1.0\nn = 1\n", "q.toml");
  CHECK(ok->root().number("p", 0.5, Bounds::probability()) == 1.0);
  CHECK(ok->root().integer("n", 5, Bounds::at_least(1)) == 1);
}

TEST_CASE("durations: units, the hint, and a suggestion for a misspelled unit") {
  auto doc = Document::parse(kBad, "q.toml");
  auto net = doc->root().table("network");
  const std::string hint =
      "expected a number with a unit (ns, us, ms, s, m or min, h, d), e.g. \"250ms\" or \"1.5h\"";
  CHECK(error_of([&] { net.duration("latency", core::SimTime::ms(10)); }) ==
        "q.toml:8:11: network.latency: \"10 parsecs\" is not a duration: " + hint);
  CHECK(error_of([&] { net.duration("jitter", core::SimTime()); }) ==
        "q.toml:9:10: network.jitter: \"10 msec\" is not a duration: " + hint +
            " (did you mean \"10ms\"?)");
  CHECK(error_of([&] { net.duration("timeout", core::SimTime()); }) ==
        "q.toml:10:11: network.timeout: 5 is not a duration: " + hint);

  auto ok = Document::parse("a = \"1.5h\"\nb = 0\nc = \"250ms\"\nd = \"0s\"\ne = 0.0\n", "q.toml");
  auto r = ok->root();
  CHECK(r.duration("a", std::nullopt) == core::SimTime::s(5400));
  CHECK(r.duration("b", std::nullopt) == core::SimTime());
  CHECK(r.duration("c", std::nullopt) == core::SimTime::ms(250));
  CHECK(error_of([&] { r.duration("d", std::nullopt, Bounds::positive()); }) ==
        "q.toml:4:5: d: \"0s\" is out of range: must be > 0s");
  CHECK(error_of([&] { r.duration("e", std::nullopt); }) ==
        "q.toml:5:5: e: 0 is not a duration: " + hint);

  auto bad = Document::parse("a = \"-5s\"\nb = \"1e30h\"\n", "q.toml");
  CHECK(error_of([&] { bad->root().duration("a", std::nullopt); }) ==
        "q.toml:1:5: a: \"-5s\" is out of range: durations cannot be negative");
  CHECK(error_of([&] { bad->root().duration("b", std::nullopt); }) ==
        "q.toml:2:5: b: \"1e30h\" is out of range: durations must be below 292 years");
}

TEST_CASE("sizes and rates: integers, unit strings and suggestions") {
  auto doc = Document::parse(kBad, "q.toml");
  auto net = doc->root().table("network");
  CHECK(error_of([&] { net.rate("bandwidth", 1e6); })
            .starts_with("q.toml:11:13: network.bandwidth: \"100 Mbit/s\" is not a rate: expected "
                         "bits per second"));
  CHECK(error_of([&] { net.rate("bandwidth", 1e6); }).ends_with("(did you mean \"100Mbps\"?)"));
  CHECK(error_of([&] { net.size("buffer", 0); })
            .starts_with("q.toml:12:10: network.buffer: \"12 kib\" is not a size: expected a whole "
                         "number of bytes"));
  CHECK(error_of([&] { net.size("buffer", 0); }).ends_with("(did you mean \"12KiB\"?)"));

  auto ok = Document::parse(
      "a = \"32KiB\"\nb = 100\nc = -1\nd = 1.5\ne = \"100Mbps\"\nf = 1e9\ng = 0\nh = true\n",
      "q.toml");
  auto r = ok->root();
  CHECK(r.size("a", std::nullopt) == 32768);
  CHECK(r.size("b", std::nullopt) == 100);
  CHECK(error_of([&] { r.size("c", 0); }) == "q.toml:3:5: c: -1 is out of range: must be >= 0");
  CHECK(error_of([&] { r.size("d", 0); }).starts_with("q.toml:4:5: d: 1.5 is not a size: "));
  CHECK(r.rate("e", std::nullopt) == 1e8);
  CHECK(r.rate("f", std::nullopt) == 1e9);
  CHECK(error_of([&] { r.rate("g", 1.0); }) == "q.toml:7:5: g: 0 is out of range: must be > 0");
  CHECK(error_of([&] { r.rate("h", 1.0); }).starts_with("q.toml:8:5: h: true is not a rate: "));

  auto bad = Document::parse(
      "a = \"-1KiB\"\nb = \"1.5B\"\nc = \"1e20GB\"\nd = \"0Mbps\"\ne = \"-2 Gbps\"\n", "q.toml");
  auto b = bad->root();
  CHECK(error_of([&] { b.size("a", 0); }) ==
        "q.toml:1:5: a: \"-1KiB\" is out of range: must be >= 0");
  CHECK(error_of([&] { b.size("b", 0); }) ==
        "q.toml:2:5: b: \"1.5B\" is not a whole number of bytes");
  CHECK(error_of([&] { b.size("c", 0); }) ==
        "q.toml:3:5: c: \"1e20GB\" is out of range: must be below 8 EiB");
  CHECK(error_of([&] { b.rate("d", 1.0); }) ==
        "q.toml:4:5: d: \"0Mbps\" is out of range: must be > 0");
  CHECK(error_of([&] { b.rate("e", 1.0); }) ==
        "q.toml:5:5: e: \"-2 Gbps\" is out of range: must be > 0");
}

TEST_CASE("choice: unknown value lists the options and suggests the nearest") {
  auto doc = Document::parse(kBad, "q.toml");
  auto learning = doc->root().table("learning");
  constexpr std::string_view modes[] = {"sync", "async"};
  CHECK(error_of([&] { learning.choice("mode", modes, "sync"); }) ==
        "q.toml:3:8: learning.mode: unknown value \"synch\"; expected one of: sync, async "
        "(did you mean \"sync\"?)");
  CHECK(error_of([&] { learning.choice("lr", modes, "sync"); }) ==
        "q.toml:2:6: learning.lr: unknown value \"fast\"; expected one of: sync, async");
  CHECK(error_of([&] { learning.choice("rounds", modes, "sync"); }) ==
        "q.toml:4:10: learning.rounds: expected one of: sync, async, got float 2.5");
  CHECK(learning.choice("policy", modes, "async") == "async");
}

TEST_CASE("missing required key: the enclosing table's position when known") {
  auto doc = Document::parse(kBad, "q.toml");
  auto learning = doc->root().table("learning");
  // [learning.model] is at line 5.
  CHECK(error_of([&] { learning.table("model").string("type", std::nullopt); }) ==
        "q.toml:5:1: learning.model.type: missing required key (expected a string)");
  // An absent table has no position.
  CHECK(error_of([&] { learning.table("optimizer").number("momentum", std::nullopt); }) ==
        "q.toml: learning.optimizer.momentum: missing required key (expected a number)");
  CHECK(error_of([&] { doc->root().integer("seed", std::nullopt); }) ==
        "q.toml: seed: missing required key (expected an integer)");
  constexpr std::string_view modes[] = {"sync", "async"};
  CHECK(error_of([&] { learning.table("optimizer").choice("kind", modes, std::nullopt); }) ==
        "q.toml: learning.optimizer.kind: missing required key (expected one of: sync, async)");
}

TEST_CASE("lists: element errors name the index; mixed and nested arrays are safe") {
  auto doc = Document::parse(
      "w = [1, \"x\", 3]\nn = [[1, 2], 3]\np = [0.5, 1.5]\ns = [\"a\", 2]\ni = [1, 2.5]\n"
      "ok = [1, 2.5]\nnames = [\"a\", \"b\"]\nints = [3, 4.0]\nscalar = 3\n",
      "q.toml");
  auto r = doc->root();
  CHECK(error_of([&] { r.number_list("w", std::nullopt); }) ==
        "q.toml:1:9: w[1]: expected a number, got string \"x\"");
  CHECK(error_of([&] { r.number_list("n", std::nullopt); }) ==
        "q.toml:2:6: n[0]: expected a number, got an array");
  CHECK(error_of([&] { r.number_list("p", std::nullopt, Bounds::probability()); }) ==
        "q.toml:3:11: p[1]: 1.5 is out of range: must be in [0, 1]");
  CHECK(error_of([&] { r.string_list("s", std::nullopt); }) ==
        "q.toml:4:11: s[1]: expected a string, got integer 2");
  CHECK(error_of([&] { r.integer_list("i", std::nullopt); }) ==
        "q.toml:5:9: i[1]: expected an integer, got float 2.5");
  CHECK(error_of([&] { r.number_list("scalar", std::nullopt); }) ==
        "q.toml:9:10: scalar: expected a list of numbers, got integer 3");
  CHECK(r.number_list("ok", std::nullopt) == std::vector<double>{1.0, 2.5});
  CHECK(r.string_list("names", std::nullopt) == std::vector<std::string>{"a", "b"});
  CHECK(r.integer_list("ints", std::nullopt) == std::vector<std::int64_t>{3, 4});
  CHECK(r.number_list("absent", std::vector<double>{0.25}) == std::vector<double>{0.25});
}

TEST_CASE("fail() and pos() position custom rules at the key or the table") {
  auto doc = Document::parse("[agg]\nf = 5\nn = 10\n", "q.toml");
  auto agg = doc->root().table("agg");
  CHECK(error_of([&] { agg.fail("f", "= 5 violates 2f + 2 < n (n = 10)"); }) ==
        "q.toml:2:5: agg.f: = 5 violates 2f + 2 < n (n = 10)");
  CHECK(error_of([&] { agg.fail("", "needs at least one client"); }) ==
        "q.toml:1:1: agg: needs at least one client");
  CHECK(agg.pos("n").line == 3);
  CHECK(agg.pos("n").column == 5);
  CHECK(agg.pos("absent").line == 1);  // the table
  CHECK(agg.key_path("f") == "agg.f");
  CHECK(agg.path() == "agg");
  CHECK(doc->root().key_path("a.b") == "\"a.b\"");  // non-bare keys are quoted
}

TEST_CASE("Registry::get: unknown component, positioned, with the known names") {
  using Factory = std::function<int(const ParamView&)>;
  Registry<Factory> reg("aggregator", "[learning.aggregator] type = ...");
  reg.add({"fedavg", "McMahan et al. 2017", {}}, [](const ParamView&) { return 1; });
  reg.add({"krum", "Blanchard et al. 2017", {{"f", "int", "", "", "Byzantine clients"}}},
          [](const ParamView& p) { return static_cast<int>(p.integer("f", 0)); });
  CHECK_THROWS_AS(reg.add({"krum", "", {}}, [](const ParamView&) { return 0; }), std::logic_error);

  auto doc = Document::parse("[learning.aggregator]\ntype = \"krun\"\n", "q.toml");
  auto agg = doc->root().table("learning").table("aggregator");
  CHECK(error_of([&] { reg.get(agg); }) ==
        "q.toml:2:8: learning.aggregator.type: unknown aggregator \"krun\"; known: fedavg, krum "
        "(did you mean \"krum\"?)");

  auto good = Document::parse("[agg]\ntype = \"krum\"\nf = 2\n", "q.toml");
  auto g = good->root().table("agg");
  CHECK(reg.get(g).factory(g) == 2);
  CHECK_NOTHROW(good->check_unused());
  auto dflt = Document::parse("", "q.toml");
  CHECK(reg.get(dflt->root(), "type", "fedavg").doc.name == "fedavg");

  Catalog cat;
  cat.add(reg);
  REQUIRE(cat.find("aggregator") != nullptr);
  CHECK(cat.find("aggregator")->docs().size() == 2);
  CHECK(cat.find("attack") == nullptr);
}

TEST_CASE("resolved_toml: every default a read used is recorded, and it parses back") {
  auto doc = Document::parse("# the experiment\n[learning]\nrounds = 5\n", "q.toml");
  auto r = doc->root();
  auto learning = r.table("learning");
  CHECK(learning.integer("rounds", 50) == 5);
  CHECK(learning.number("lr", 0.1) == 0.1);
  auto model = learning.table("model");
  CHECK(model.string("type", "mlp") == "mlp");
  CHECK(model.integer_list("hidden", std::vector<std::int64_t>{64, 32}).size() == 2);
  auto net = r.table("network");
  CHECK(net.duration("latency", core::SimTime::ms(1500)) == core::SimTime::ms(1500));
  CHECK(net.rate("bandwidth", 1e8) == 1e8);
  CHECK(net.size("mtu", 1500) == 1500);
  CHECK(net.boolean("lossy", false) == false);
  CHECK_FALSE(r.optional_table("economy").has_value());
  CHECK(r.table_array("attack").empty());
  CHECK_NOTHROW(doc->check_unused());

  // Defaults are not "present".
  CHECK_FALSE(learning.has("lr"));
  CHECK(learning.has("rounds"));
  CHECK(learning.keys() == std::vector<std::string>{"rounds"});

  const std::string resolved = doc->resolved_toml();
  INFO(resolved);
  CHECK(resolved.find("lr = 0.1\n") != std::string::npos);  // shortest float text
  CHECK(resolved.find("latency = \"1500ms\"") != std::string::npos);
  CHECK(resolved.find("hidden = [64, 32]") != std::string::npos);
  CHECK(resolved.find("[learning.model]") != std::string::npos);
  CHECK(resolved.find("economy") == std::string::npos);  // optional and absent: not created
  CHECK(doc->original_text() == "# the experiment\n[learning]\nrounds = 5\n");

  auto again = Document::parse(resolved, "resolved.toml");
  auto l2 = again->root().table("learning");
  CHECK(l2.integer("rounds", std::nullopt) == 5);
  CHECK(l2.number("lr", std::nullopt) == 0.1);
  CHECK(l2.table("model").string("type", std::nullopt) == "mlp");
  CHECK(again->root().table("network").duration("latency", std::nullopt) ==
        core::SimTime::ms(1500));
  CHECK(again->root().table("network").rate("bandwidth", std::nullopt) == 1e8);
}

TEST_CASE("load: unreadable files and malformed TOML") {
  CHECK(error_of([] { Document::load("/nonexistent/q.toml"); }) ==
        "/nonexistent/q.toml: cannot read scenario file: No such file or directory");
  CHECK(error_of([] { Document::load("/"); }) == "/: cannot read scenario file: it is a directory");

  const std::string path = std::string(LEDGERFL_BINARY_DIR) + "/test_scenario_load.toml";
  {
    std::ofstream out(path, std::ios::binary);
    out << "[learning]\r\nlr = 0.5 # crlf\r\n";
  }
  auto doc = Document::load(path);
  CHECK(doc->source_name() == path);
  CHECK(doc->original_text() == "[learning]\r\nlr = 0.5 # crlf\r\n");
  CHECK(doc->root().table("learning").number("lr", std::nullopt) == 0.5);
  {
    std::ofstream out(path, std::ios::binary);
    out << "[learning]\nlr = 0.5\nlr = 0.6\n";
  }
  const std::string msg = error_of([&] { Document::load(path); });
  CHECK(msg.starts_with(path + ":3:6: malformed TOML: "));
  CHECK(msg.find("cannot redefine existing floating-point 'lr'") != std::string::npos);
  std::remove(path.c_str());

  const std::string m2 = error_of([] { Document::parse("a = \n", "q.toml"); });
  CHECK(m2.starts_with("q.toml:1:"));
  CHECK(m2.find(": malformed TOML: ") != std::string::npos);
  CHECK(error_of([] {
          Document::parse("x = 9223372036854775808\n", "q.toml");
        }).starts_with("q.toml:1:"));
}
