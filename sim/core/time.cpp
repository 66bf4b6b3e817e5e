// Simulated time: conversion from seconds, parsing "250ms"/"1.5h", printing.
#include "sim/core/time.hpp"

#include <cmath>
#include <cstdio>

#include "sim/core/detail_parse.hpp"

namespace ledgerfl::core {

SimTime SimTime::from_seconds(double s) {
  return SimTime::ns(static_cast<std::int64_t>(std::llround(s * 1e9)));
}

std::optional<SimTime> parse_duration(std::string_view text) {
  auto nu = detail::split_number(text);
  if (!nu || nu->value < 0) return std::nullopt;
  struct Unit {
    std::string_view name;
    double ns;
  };
  static constexpr Unit kUnits[] = {
      {"ns", 1.0}, {"us", 1e3},   {"ms", 1e6},   {"s", 1e9},     {"sec", 1e9},
      {"m", 60e9}, {"min", 60e9}, {"h", 3600e9}, {"d", 86400e9},
  };
  double scale = -1;
  if (nu->unit.empty()) {
    if (nu->value != 0.0) return std::nullopt;  // only a bare 0 needs no unit
    scale = 1.0;
  }
  for (const auto& u : kUnits)
    if (u.name == nu->unit) scale = u.ns;
  if (scale < 0) return std::nullopt;
  const double total = nu->value * scale;
  if (total > 9.2e18) return std::nullopt;
  return SimTime::ns(static_cast<std::int64_t>(std::llround(total)));
}

std::string to_string(SimTime t) {
  const std::int64_t ns = t.count_ns();
  char buf[64];
  const std::int64_t a = ns < 0 ? -ns : ns;
  const char* sign = ns < 0 ? "-" : "";
  if (a == 0) return "0s";
  if (a < 1'000) {
    std::snprintf(buf, sizeof buf, "%s%lldns", sign, static_cast<long long>(a));
  } else if (a < 1'000'000) {
    std::snprintf(buf, sizeof buf, "%s%gus", sign, a / 1e3);
  } else if (a < 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%s%gms", sign, a / 1e6);
  } else if (a < 60'000'000'000LL) {
    std::snprintf(buf, sizeof buf, "%s%gs", sign, a / 1e9);
  } else {
    const std::int64_t total_s = a / 1'000'000'000;
    const long long h = total_s / 3600, m = (total_s % 3600) / 60;
    const double s = static_cast<double>(a % 60'000'000'000LL) / 1e9;
    if (h > 0)
      std::snprintf(buf, sizeof buf, "%s%lldh %lldm %gs", sign, h, m, s);
    else
      std::snprintf(buf, sizeof buf, "%s%lldm %gs", sign, m, s);
  }
  return buf;
}

}  // namespace ledgerfl::core
