// Parsing of sizes ("32KiB") and data rates ("100Mbps") for scenario files.
#include "sim/core/units.hpp"

#include <cmath>

#include "sim/core/detail_parse.hpp"

namespace ledgerfl::core {

std::optional<std::int64_t> parse_size(std::string_view text) {
  auto nu = detail::split_number(text);
  if (!nu || nu->value < 0) return std::nullopt;
  struct Unit {
    std::string_view name;
    double bytes;
  };
  static constexpr Unit kUnits[] = {
      {"", 1.0},
      {"B", 1.0},
      {"kB", 1e3},
      {"KB", 1e3},
      {"MB", 1e6},
      {"GB", 1e9},
      {"TB", 1e12},
      {"KiB", 1024.0},
      {"MiB", 1048576.0},
      {"GiB", 1073741824.0},
      {"TiB", 1099511627776.0},
  };
  for (const auto& u : kUnits) {
    if (u.name != nu->unit) continue;
    const double b = nu->value * u.bytes;
    if (b > 9.2e18 || b != std::floor(b)) return std::nullopt;  // whole bytes only
    return static_cast<std::int64_t>(b);
  }
  return std::nullopt;
}

std::optional<double> parse_rate(std::string_view text) {
  auto nu = detail::split_number(text);
  if (!nu || nu->value <= 0) return std::nullopt;
  struct Unit {
    std::string_view name;
    double bps;
  };
  static constexpr Unit kUnits[] = {
      {"", 1.0},         {"bps", 1.0},         {"kbps", 1e3},           {"Kbps", 1e3},
      {"Mbps", 1e6},     {"Gbps", 1e9},        {"Tbps", 1e12},          {"B/s", 8.0},
      {"kB/s", 8e3},     {"KB/s", 8e3},        {"MB/s", 8e6},           {"GB/s", 8e9},
      {"KiB/s", 8192.0}, {"MiB/s", 8388608.0}, {"GiB/s", 8589934592.0},
  };
  for (const auto& u : kUnits) {
    if (u.name != nu->unit) continue;
    const double bps = nu->value * u.bps;
    if (!std::isfinite(bps)) return std::nullopt;  // "1e300GiB/s" overflows to +inf
    return bps;
  }
  return std::nullopt;
}

}  // namespace ledgerfl::core
