// Shared helper for unit parsing: split "1.5 ms" into a number and a unit suffix.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace ledgerfl::core::detail {

struct NumberWithUnit {
  double value;
  std::string_view unit;  // trimmed, may be empty
};

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Accepts "12", "1.5", "2e3", "1.5 ms". Rejects signs other than a leading '-' (callers check
// sign), NaN and infinity.
inline std::optional<NumberWithUnit> split_number(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  double v = 0.0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr == text.data()) return std::nullopt;
  std::string_view rest(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  if (!(v == v) || v > 1e300 || v < -1e300) return std::nullopt;
  return NumberWithUnit{v, trim(rest)};
}

}  // namespace ledgerfl::core::detail
