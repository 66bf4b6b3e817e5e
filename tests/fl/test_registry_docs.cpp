// Contract test over every FL registry: each entry's documented parameters (ParamDoc) are exactly
// the keys its factory reads — a table holding every documented key at its documented default
// builds and leaves no key unused, and a misspelled extra key is reported.
#include <doctest/doctest.h>

#include <numeric>
#include <string>

#include "sim/fl/registries.hpp"

using namespace ledgerfl;

namespace {
// TOML for an entry: type + every documented parameter at its default (required ones get `req`).
std::string table_text(const scenario::EntryDoc& e, const std::string& req) {
  std::string t = "[x]\ntype = \"" + e.name + "\"\n";
  for (const auto& p : e.params)
    t += p.name + " = " +
         (p.default_value.empty() ? (p.name == "high" ? std::string("3") : req) : p.default_value) +
         "\n";
  return t;
}

template <class Build>
void check_registry(const scenario::RegistryBase& reg, const std::string& req, Build build) {
  for (const auto& e : reg.docs()) {
    {
      auto doc = scenario::Document::parse(table_text(e, req), "t.toml");
      scenario::ParamView x = doc->root().table("x");
      x.mark_used("type");
      CHECK_NOTHROW_MESSAGE(build(e.name, x), reg.kind() << " " << e.name);
      CHECK_NOTHROW_MESSAGE(doc->check_unused(),
                            reg.kind() << " " << e.name << " reads fewer keys than documented");
    }
    {
      auto doc = scenario::Document::parse(table_text(e, req) + "bogus_key = 1\n", "t.toml");
      scenario::ParamView x = doc->root().table("x");
      x.mark_used("type");
      build(e.name, x);
      CHECK_THROWS_AS(doc->check_unused(), scenario::InputError);
    }
  }
}
}  // namespace

TEST_CASE("documented parameters are the parameters read, for every FL registry") {
  fl::FlRegistries regs;
  fl::register_builtin_fl(regs);
  check_registry(regs.models, "1", [&](const std::string& n, const scenario::ParamView& p) {
    return regs.models.find(n)->factory(p, 784, 10);
  });
  check_registry(regs.aggregators, "1", [&](const std::string& n, const scenario::ParamView& p) {
    return regs.aggregators.find(n)->factory(p);
  });
  check_registry(regs.server_optimizers, "1",
                 [&](const std::string& n, const scenario::ParamView& p) {
                   return regs.server_optimizers.find(n)->factory(p);
                 });
  std::vector<std::int32_t> labels(2000);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>(i % 10);
  check_registry(regs.partitioners, "1", [&](const std::string& n, const scenario::ParamView& p) {
    return regs.partitioners.find(n)->factory(p, labels, 10, 20, 1);
  });
  check_registry(regs.distributions, "2", [&](const std::string& n, const scenario::ParamView& p) {
    return regs.distributions.find(n)->factory(p, agents::ValueKind::kNumber);
  });
  check_registry(regs.datasets, "1", [&](const std::string& n, const scenario::ParamView& p) {
    if (n == "fashion_mnist")
      p.integer("train_subset", 0);  // read before the factory: keep it small
    return regs.datasets.find(n)->factory(p, 20, 1, regs);
  });
}
