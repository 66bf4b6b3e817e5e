// Tests for --set overrides: TOML typing, bare words, compatibility, new keys, positions.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sim/scenario/params.hpp"
#include "tests/scenario/error_of.hpp"

using namespace ledgerfl;
using namespace ledgerfl::scenario;
using ledgerfl::scenario::test::error_of;

namespace {

constexpr std::string_view kText = R"([learning]
lr = 0.1
rounds = 5
iid = false
[learning.model]
type = "mlp"
[network]
latency = "10ms"
bandwidth = "100Mbps"
[[agents.attack]]
kind = "sign_flip"
[[agents.attack]]
kind = "alie"
)";

}  // namespace

TEST_CASE("override typing: int -> float, arrays, booleans, bare words, quoted strings") {
  auto doc = Document::parse(kText, "q.toml");
  doc->apply_override("learning.lr=1");
  doc->apply_override("learning.iid = true");
  doc->apply_override("learning.model.type=cnn");            // bare word -> string
  doc->apply_override("learning.model.name=\"two words\"");  // TOML string
  doc->apply_override("learning.model.hidden=[128, 64]");    // new key, array
  doc->apply_override("learning.weights=[0.5, 1]");
  doc->apply_override("learning.note=hello world");  // not TOML -> the raw text
  auto l = doc->root().table("learning");
  CHECK(l.number("lr", std::nullopt) == 1.0);
  CHECK(l.boolean("iid", std::nullopt) == true);
  auto m = l.table("model");
  CHECK(m.string("type", std::nullopt) == "cnn");
  CHECK(m.string("name", std::nullopt) == "two words");
  CHECK(m.integer_list("hidden", std::nullopt) == std::vector<std::int64_t>{128, 64});
  CHECK(l.number_list("weights", std::nullopt) == std::vector<double>{0.5, 1.0});
  CHECK(l.string("note", std::nullopt) == "hello world");
  CHECK(l.integer("rounds", std::nullopt) == 5);
  // The integer given for a float key is stored as a float.
  CHECK(doc->resolved_toml().find("lr = 1.0\n") != std::string::npos);
  CHECK(doc->original_text() == kText);  // overrides do not touch the file text
}

TEST_CASE("override compatibility: a string over a number is rejected, units stay strings") {
  auto doc = Document::parse(kText, "q.toml");
  CHECK(error_of([&] { doc->apply_override("learning.lr=fast"); }) ==
        "--set learning.lr=fast: learning.lr: expected a number like the value at q.toml:2:6, "
        "got string \"fast\"");
  CHECK(error_of([&] { doc->apply_override("learning.iid=1"); }) ==
        "--set learning.iid=1: learning.iid: expected true or false like the value at "
        "q.toml:4:7, got integer 1");
  CHECK(error_of([&] { doc->apply_override("learning.model=3"); }) ==
        "--set learning.model=3: learning.model: expected a table like the value at q.toml:5:1, "
        "got integer 3");
  // Numbers given for string keys keep their text: durations, rates and names.
  doc->apply_override("network.latency=0");
  doc->apply_override("network.bandwidth=1e9");
  doc->apply_override("learning.model.type=5");
  auto net = doc->root().table("network");
  CHECK(net.duration("latency", std::nullopt) == core::SimTime());
  CHECK(net.rate("bandwidth", std::nullopt) == 1e9);
  CHECK(doc->root().table("learning").table("model").string("type", std::nullopt) == "5");
}

TEST_CASE("override syntax errors name the --set argument") {
  auto doc = Document::parse(kText, "q.toml");
  CHECK(error_of([&] { doc->apply_override("learning.lr"); }) ==
        "--set learning.lr: expected KEY=VALUE, e.g. --set learning.rounds=50");
  CHECK(error_of([&] { doc->apply_override(" =5"); }) ==
        "--set  =5: the key is empty; expected KEY=VALUE, e.g. --set learning.rounds=50");
  CHECK(error_of([&] { doc->apply_override("learning..lr=5"); }) ==
        "--set learning..lr=5: \"learning..lr\" is not a key path; expected names separated by "
        "dots, e.g. a.b.c");
  CHECK(error_of([&] { doc->apply_override("learning.lr.x=5"); }) ==
        "q.toml:2:6: learning.lr: is float 0.1, not a table, so --set learning.lr.x=5 cannot set "
        "a key inside it");
  CHECK(error_of([&] { doc->apply_override("agents.attack[x].kind=a"); }) ==
        "--set agents.attack[x].kind=a: bad index in \"attack[x]\"; expected KEY[N] with N a "
        "number");
  CHECK(error_of([&] { doc->apply_override("agents.attack[2].kind=a"); }) ==
        "--set agents.attack[2].kind=a: agents.attack[2]: index out of range; [[agents.attack]] "
        "has 2 elements");
  CHECK(error_of([&] { doc->apply_override("learning[0].lr=1"); }) ==
        "q.toml:1:1: learning: is a table, not an array of tables, so --set learning[0].lr=1 "
        "cannot index it");
  CHECK(error_of([&] {
          doc->apply_override("agents.attack[0]=1");
        }).starts_with("--set agents.attack[0]=1: cannot replace a whole element"));
}

TEST_CASE("overridden values are positioned at --set KEY in later errors") {
  auto doc = Document::parse(kText, "q.toml");
  doc->apply_override("learning.lr=-1");
  doc->apply_override("learning.rounds=2.5");  // float over integer is the read's business
  doc->apply_override("network.latency=\"10 parsecs\"");
  auto l = doc->root().table("learning");
  CHECK(error_of([&] { l.number("lr", 0.1, Bounds::positive()); }) ==
        "--set learning.lr: learning.lr: -1 is out of range: must be > 0");
  CHECK(error_of([&] { l.integer("rounds", 1); }) ==
        "--set learning.rounds: learning.rounds: expected an integer, got float 2.5");
  CHECK(error_of([&] {
          doc->root().table("network").duration("latency", std::nullopt);
        }).starts_with("--set network.latency: network.latency: \"10 parsecs\" is not a duration"));
  CHECK(l.pos("lr").file == "--set learning.lr");
  CHECK(l.pos("lr").line == 0);
}

TEST_CASE("overrides create tables, reach into arrays of tables, and replace inline tables") {
  auto doc = Document::parse(kText, "q.toml");
  doc->apply_override("economy.reward.per_round=10");
  doc->apply_override("agents.attack[1].fraction=0.3");
  doc->apply_override("learning.model={ type = \"cnn\", channels = 8 }");
  auto r = doc->root();
  CHECK(r.table("economy").table("reward").integer("per_round", std::nullopt) == 10);
  auto attacks = r.table("agents").table_array("attack");
  REQUIRE(attacks.size() == 2);
  CHECK(attacks[0].string("kind", std::nullopt) == "sign_flip");
  CHECK(attacks[1].string("kind", std::nullopt) == "alie");
  CHECK(attacks[1].number("fraction", std::nullopt) == 0.3);
  CHECK(attacks[0].number("fraction", 0.1) == 0.1);
  auto m = r.table("learning").table("model");
  CHECK(m.string("type", std::nullopt) == "cnn");
  CHECK(m.integer("channels", std::nullopt) == 8);
  // A missing key inside a table that only an override created is positioned at the override.
  CHECK(error_of([&] { r.table("economy").table("reward").number("decay", std::nullopt); }) ==
        "--set economy.reward.per_round: economy.reward.decay: missing required key (expected a "
        "number)");
}

TEST_CASE("an override that nobody reads is an unknown key with a suggestion") {
  auto doc = Document::parse(kText, "q.toml");
  doc->apply_override("learning.lrr=0.5");
  auto l = doc->root().table("learning");
  l.number("lr", 0.1);
  l.integer("rounds", 1);
  l.boolean("iid", false);
  l.table("model").string("type", "mlp");
  auto r = doc->root();
  r.table("network").duration("latency", std::nullopt);
  r.table("network").rate("bandwidth", std::nullopt);
  for (auto& a : r.table("agents").table_array("attack")) a.string("kind", std::nullopt);
  CHECK(error_of([&] { doc->check_unused(); }) ==
        "--set learning.lrr: learning.lrr: unknown key (did you mean \"lr\"?)");
}

TEST_CASE("override values that are not single TOML values are taken as text") {
  auto doc = Document::parse("", "q.toml");
  doc->apply_override("a=1\nb=2");  // two assignments: not one value
  doc->apply_override("c=");        // empty -> empty string
  doc->apply_override("d=[1, \"x\"]");
  doc->apply_override("e=1979-05-27");  // a TOML date
  CHECK(error_of([&] { doc->apply_override(std::string("f=\xff\xfe")); }) ==
        "--set f: column 3: invalid UTF-8: byte 0xFF (byte offset 2) is not valid here");
  CHECK(
      error_of([&] { doc->apply_override(std::string("f=\xed\xa0\x80")); }) ==
      "--set f: column 3: invalid UTF-8: byte 0xA0 (byte offset 3) is not valid here");  // a
                                                                                         // surrogate
  doc->apply_override("u=caf\xc3\xa9 \"quoted\" \\ back");
  auto r = doc->root();
  CHECK(r.string("a", std::nullopt) == "1\nb=2");
  CHECK(r.string("c", std::nullopt) == "");
  CHECK(r.string("u", std::nullopt) == "caf\xc3\xa9 \"quoted\" \\ back");
  CHECK(error_of([&] { r.number_list("d", std::nullopt); }) ==
        "--set d: d[1]: expected a number, got string \"x\"");
  CHECK(error_of([&] { r.string("e", std::nullopt); }) ==
        "--set e: e: expected a string, got date 1979-05-27");
  CHECK_THROWS_AS(doc->apply_override("g=1"), std::logic_error);  // after reads: a bug
}
