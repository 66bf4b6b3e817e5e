// Levenshtein distance, nearest-name search and unit-typo suggestions for scenario errors.
#include "sim/scenario/suggest.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

namespace ledgerfl::scenario {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Two-row dynamic programme over bytes (Levenshtein 1966): insert, delete, substitute = 1.
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> nearest(std::string_view word, std::span<const std::string> candidates) {
  // Close enough = at most max(2, |word| / 3) edits; ties go to the first candidate.
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::optional<std::string> best;
  std::size_t best_d = limit + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, std::span<const std::string> candidates) {
  if (auto n = nearest(word, candidates)) return " (did you mean \"" + *n + "\"?)";
  return {};
}

namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<Quantity> split_quantity(std::string_view text) {
  text = trim(text);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr == text.data()) return std::nullopt;
  const std::size_t len = static_cast<std::size_t>(ptr - text.data());
  return Quantity{v, std::string(text.substr(0, len)), std::string(trim(text.substr(len)))};
}

std::optional<std::string> suggest_unit_fix(std::string_view text,
                                            std::span<const std::string> units,
                                            std::span<const UnitAlias> aliases) {
  const auto q = split_quantity(text);
  if (!q || q->unit.empty()) return std::nullopt;
  const std::string& number = q->number;
  const std::string_view unit = q->unit;
  for (const auto& a : aliases)
    if (iequal(a.alias, unit)) return number + std::string(a.unit);
  for (const auto& u : units)
    if (iequal(u, unit)) return number + u;
  if (auto n = nearest(unit, units)) return number + *n;
  return std::nullopt;
}

}  // namespace ledgerfl::scenario
