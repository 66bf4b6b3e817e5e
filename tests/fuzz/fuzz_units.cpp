// libFuzzer target: the unit parsers of sim/core (durations, sizes, rates) and their contracts.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sim/core/time.hpp"
#include "sim/core/units.hpp"

using namespace ledgerfl::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Documented contracts (time.hpp, units.hpp): negative durations are rejected, sizes are
  // byte counts, rates are > 0 bit/s. A violation is a finding like a crash.
  if (const auto t = parse_duration(text)) {
    if (t->count_ns() < 0) __builtin_trap();
    const std::string shown = to_string(*t);
    if (shown.empty()) __builtin_trap();
  }
  if (const auto b = parse_size(text)) {
    if (*b < 0) __builtin_trap();
  }
  if (const auto r = parse_rate(text)) {
    if (!(*r > 0) || !std::isfinite(*r)) __builtin_trap();
  }
  return 0;
}
