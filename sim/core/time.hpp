// Simulated time: a strong integer type counting nanoseconds, and its human-unit parsing.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace ledgerfl::core {

// A point in (or span of) simulated time, in integer nanoseconds. Integer so that event order
// never depends on floating-point rounding (STYLE.md rule 2). int64 covers +-292 years.
class SimTime {
 public:
  constexpr SimTime() = default;
  static constexpr SimTime ns(std::int64_t v) { return SimTime(v); }
  static constexpr SimTime us(std::int64_t v) { return SimTime(v * 1'000); }
  static constexpr SimTime ms(std::int64_t v) { return SimTime(v * 1'000'000); }
  static constexpr SimTime s(std::int64_t v) { return SimTime(v * 1'000'000'000); }
  // Seconds given as a double, rounded to the nearest nanosecond (for sampled delays).
  static SimTime from_seconds(double s);
  static constexpr SimTime max() { return SimTime(std::numeric_limits<std::int64_t>::max()); }

  constexpr std::int64_t count_ns() const { return ns_; }
  constexpr double seconds() const { return static_cast<double>(ns_) * 1e-9; }

  constexpr auto operator<=>(const SimTime&) const = default;
  constexpr SimTime operator+(SimTime o) const { return SimTime(ns_ + o.ns_); }
  constexpr SimTime operator-(SimTime o) const { return SimTime(ns_ - o.ns_); }
  constexpr SimTime& operator+=(SimTime o) {
    ns_ += o.ns_;
    return *this;
  }
  constexpr SimTime& operator-=(SimTime o) {
    ns_ -= o.ns_;
    return *this;
  }
  constexpr SimTime operator*(std::int64_t k) const { return SimTime(ns_ * k); }

 private:
  constexpr explicit SimTime(std::int64_t v) : ns_(v) {}
  std::int64_t ns_ = 0;
};

// "1.5s", "250ms", "12 s", "2h", "3d", "1500us", "10ns", "0". Returns nullopt on bad input; the
// caller (scenario layer) turns that into a positioned error. Negative durations are rejected.
std::optional<SimTime> parse_duration(std::string_view text);
// Shortest readable form: "0s", "250ms", "1.5s", "2h 3m 4s" for long spans.
std::string to_string(SimTime t);

}  // namespace ledgerfl::core
