// "Did you mean ...?" helpers for scenario errors: nearest names and misspelled units.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sim/scenario/params.hpp"

namespace ledgerfl::scenario {

// " (did you mean \"model\"?)" when nearest() finds a candidate, "" otherwise.
std::string did_you_mean(std::string_view word, std::span<const std::string> candidates);

// A common spelling of a unit and the unit it means ("seconds" -> "s", "µs" -> "us").
struct UnitAlias {
  std::string_view alias, unit;
};

// "1.5 ms" -> {1.5, "1.5", "ms"}; nullopt if the text does not start with a number.
struct Quantity {
  double value;
  std::string number, unit;  // as written, trimmed
};
std::optional<Quantity> split_quantity(std::string_view text);

// For a value with a misspelled unit ("10 msec", "2 Mbit/s", "5 kib") returns the corrected
// value ("10ms", "2Mbps", "5KiB"), or nullopt if the text does not start with a number or no
// unit is close. Tries, in order: an alias, a case-insensitive match, nearest(). The caller
// checks that the suggestion really parses.
std::optional<std::string> suggest_unit_fix(std::string_view text,
                                            std::span<const std::string> units,
                                            std::span<const UnitAlias> aliases = {});

}  // namespace ledgerfl::scenario
