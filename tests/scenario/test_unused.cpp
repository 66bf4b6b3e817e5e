// Tests for check_unused: unknown keys and tables in nested tables and arrays of tables.
#include <doctest/doctest.h>

#include <string>

#include "sim/scenario/params.hpp"
#include "tests/scenario/error_of.hpp"

using namespace ledgerfl;
using namespace ledgerfl::scenario;
using ledgerfl::scenario::test::error_of;

namespace {

// Reads what a typical set of components would read from kText.
void read_all(Document& doc) {
  auto r = doc.root();
  r.integer("seed", 1);
  auto l = r.table("learning");
  l.number("lr", 0.1);
  l.integer("rounds", 10);
  auto m = l.table("model");
  m.string("type", "mlp");
  m.integer_list("hidden", std::vector<std::int64_t>{64});
  auto agents = r.table("agents");
  for (auto& a : agents.table_array("attack")) {
    a.string("kind", std::nullopt);
    a.number("fraction", 0.1, Bounds::probability());
  }
}

}  // namespace

TEST_CASE("check_unused: a clean document passes, defaults are never unused") {
  auto doc = Document::parse(R"(seed = 3
[learning]
lr = 0.5
[learning.model]
type = "cnn"
[[agents.attack]]
kind = "alie"
)",
                             "q.toml");
  read_all(*doc);
  CHECK_NOTHROW(doc->check_unused());
}

TEST_CASE("check_unused: unknown key in a nested table, with the nearest known key") {
  auto doc = Document::parse(R"(seed = 3
[learning]
lr = 0.5
[learning.model]
type = "cnn"
hiden = [32]
)",
                             "q.toml");
  read_all(*doc);
  CHECK(error_of([&] { doc->check_unused(); }) ==
        "q.toml:6:1: learning.model.hiden: unknown key (did you mean \"hidden\"?)");
}

TEST_CASE("check_unused: the first unused key in file order, not in table order") {
  // [zeta] sorts after [learning] but comes first in the file.
  auto doc = Document::parse(R"([zeta]
[learning]
lr = 0.5
epochs = 2
[agents]
zzz = 1
)",
                             "q.toml");
  read_all(*doc);
  CHECK(
      error_of([&] { doc->check_unused(); }).starts_with("q.toml:1:2: zeta: unknown table [zeta]"));
  auto doc2 = Document::parse("[learning]\nlr = 0.5\nepochs = 2\n[agents]\nzzz = 1\n", "q.toml");
  read_all(*doc2);
  CHECK(error_of([&] { doc2->check_unused(); }) ==
        "q.toml:3:1: learning.epochs: unknown key; known keys here: lr, rounds, model");
}

TEST_CASE("check_unused: unknown tables use the keys read at the parent level") {
  auto doc = Document::parse("seed = 1\n[learnin]\nlr = 0.5\n", "q.toml");
  read_all(*doc);
  CHECK(error_of([&] { doc->check_unused(); }) ==
        "q.toml:2:2: learnin: unknown table [learnin] (did you mean \"learning\"?)");
  auto doc2 = Document::parse("[learning.modl]\ntype = \"x\"\n", "q.toml");
  read_all(*doc2);
  CHECK(error_of([&] { doc2->check_unused(); }) ==
        "q.toml:1:11: learning.modl: unknown table [learning.modl] (did you mean \"model\"?)");
  auto doc3 = Document::parse("[[agents.atack]]\nkind = \"x\"\n", "q.toml");
  read_all(*doc3);
  CHECK(error_of([&] { doc3->check_unused(); }) ==
        "q.toml:1:10: agents.atack: unknown array of tables [[agents.atack]] (did you mean "
        "\"attack\"?)");
}

TEST_CASE("check_unused: keys inside arrays of tables are checked per element") {
  auto doc = Document::parse(R"([[agents.attack]]
kind = "alie"
fraction = 0.2
[[agents.attack]]
kind = "sign_flip"
fractoin = 0.3
)",
                             "q.toml");
  read_all(*doc);
  CHECK(error_of([&] { doc->check_unused(); }) ==
        "q.toml:6:1: agents.attack[1].fractoin: unknown key (did you mean \"fraction\"?)");
}

TEST_CASE("check_unused: inline tables, dotted keys and tables nobody asked about") {
  auto doc = Document::parse("learning.model = { type = \"cnn\", hiddne = [1] }\n", "q.toml");
  read_all(*doc);
  CHECK(error_of([&] { doc->check_unused(); }) ==
        "q.toml:1:34: learning.model.hiddne: unknown key (did you mean \"hidden\"?)");

  // Nothing read at all: the first key is unknown and the root takes no keys.
  auto doc2 = Document::parse("x = 1\n", "q.toml");
  CHECK(error_of([&] { doc2->check_unused(); }) ==
        "q.toml:1:1: x: unknown key; nothing reads top-level keys");
  // A table opened but with no reads.
  auto doc3 = Document::parse("[t]\nx = 1\n", "q.toml");
  doc3->root().table("t");
  CHECK(error_of([&] { doc3->check_unused(); }) ==
        "q.toml:2:1: t.x: unknown key; [t] takes no keys");
}

TEST_CASE("check_unused: mark_used consumes a key, including a whole table") {
  auto doc = Document::parse("[plugin]\na = 1\nb = { c = 2 }\n[raw]\nanything = true\n", "q.toml");
  auto r = doc->root();
  auto p = r.table("plugin");
  p.mark_used("a");
  p.mark_used("b");
  r.mark_used("raw");
  CHECK_NOTHROW(doc->check_unused());
}

TEST_CASE("check_unused: has() records a known key but does not use it") {
  auto doc = Document::parse("[t]\nmode = 1\n", "q.toml");
  auto t = doc->root().table("t");
  CHECK(t.has("mode"));
  CHECK_FALSE(t.has("other"));
  CHECK(error_of([&] { doc->check_unused(); }) ==
        "q.toml:2:1: t.mode: not used (checked for, but not read, by its component)");
}
