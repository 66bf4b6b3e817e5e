// Contract test over the economy registries: each entry's documented parameters are exactly the
// keys its factory reads, and the catalog lists the three registries.
#include <doctest/doctest.h>

#include <string>

#include "sim/economy/registries.hpp"

using namespace ledgerfl;

namespace {
std::string table_text(const scenario::EntryDoc& e) {
  std::string t = "[x]\ntype = \"" + e.name + "\"\n";
  for (const auto& p : e.params) t += p.name + " = " + p.default_value + "\n";
  return t;
}

template <class Reg>
void check_registry(const Reg& reg) {
  CHECK(!reg.entries().empty());
  for (const auto& e : reg.entries()) {
    for (const auto& p : e.doc.params) CHECK_MESSAGE(!p.default_value.empty(), p.name);
    {
      auto doc = scenario::Document::parse(table_text(e.doc), "t.toml");
      scenario::ParamView x = doc->root().table("x");
      x.mark_used("type");
      auto made = e.factory(x);
      CHECK(made != nullptr);
      CHECK_NOTHROW_MESSAGE(doc->check_unused(),
                            reg.kind() << " " << e.doc.name << " reads fewer keys than documented");
    }
    {
      auto doc = scenario::Document::parse(table_text(e.doc) + "bogus_key = 1\n", "t.toml");
      scenario::ParamView x = doc->root().table("x");
      x.mark_used("type");
      e.factory(x);
      CHECK_THROWS_AS(doc->check_unused(), scenario::InputError);
    }
  }
}
}  // namespace

TEST_CASE("documented parameters are the parameters read, for every economy registry") {
  economy::EconomyRegistries regs;
  economy::register_builtin_economy(regs);
  check_registry(regs.selection);
  check_registry(regs.reputation);
  check_registry(regs.scores);
  CHECK(regs.selection.entries().size() == 4);
  CHECK(regs.reputation.entries().size() == 2);
  CHECK(regs.scores.entries().size() == 6);
  for (const auto& e : regs.selection.entries()) {
    auto doc = scenario::Document::parse("", "t.toml");
    CHECK(e.factory(doc->root().table("x"))->name() == e.doc.name);
  }
  for (const auto& e : regs.scores.entries()) {
    auto doc = scenario::Document::parse("", "t.toml");
    CHECK(e.factory(doc->root().table("x"))->name() == e.doc.name);
  }
  scenario::Catalog cat;
  economy::add_to_catalog(regs, cat);
  REQUIRE(cat.all().size() == 3);
  CHECK(cat.find("selection") == &regs.selection);
  CHECK(cat.find("reputation") == &regs.reputation);
  CHECK(cat.find("contribution_score") == &regs.scores);
  CHECK(regs.scores.table_hint() == "[contract.rewards] score = \"...\"");
  // An unknown name lists the known ones and the nearest.
  auto doc = scenario::Document::parse("[s]\ntype = \"stak\"\n", "t.toml");
  CHECK_THROWS_WITH_AS(regs.selection.get(doc->root().table("s")),
                       doctest::Contains("did you mean \"stake\""), scenario::InputError);
}
