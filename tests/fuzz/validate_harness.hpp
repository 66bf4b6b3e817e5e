// The `ledgerfl validate` path as a function the scenario and override fuzz targets share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/cli/components.hpp"
#include "sim/scenario/params.hpp"

namespace ledgerfl::fuzz {

// Parses `text` as a scenario, applies `sets` (--set overrides) and does what `validate` does
// (sim/cli/main.cpp prepare(): simulation name and seed, build every component, unused keys).
// Bad input must surface as scenario::InputError (caught here); anything else escapes and is a
// finding. Returns false for inputs outside the fuzzed layer: learning scenarios whose data set
// is not "synthetic" would load Fashion-MNIST from disk on every execution, so they are only
// parsed, overridden and checked up to the data table.
inline bool validate_text(std::string_view text, const std::vector<std::string>& sets) {
  static const cli::Components comps;  // the registries: built once, read-only afterwards
  try {
    auto doc = scenario::Document::parse(text, "fuzz.toml");
    for (const auto& s : sets) doc->apply_override(s);
    (void)doc->resolved_toml();
    scenario::ParamView root = doc->root();
    if (root.has("data")) {
      if (!root.is_table("data")) return false;
      const std::optional<scenario::ParamView> data = root.optional_table("data");
      if (!data || !data->has("type") || data->string("type", std::nullopt) != "synthetic")
        return false;
    }
    const scenario::ParamView sim = root.table("simulation");
    (void)sim.string("name", std::string("fuzz"));
    const std::int64_t seed = sim.integer("seed", 1, scenario::Bounds::non_negative());
    (void)cli::build_simulation(comps, root, static_cast<std::uint64_t>(seed));
    doc->check_unused();
  } catch (const scenario::InputError&) {
  }
  return true;
}

}  // namespace ledgerfl::fuzz
