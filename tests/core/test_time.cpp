// Tests of simulated time and unit parsing (durations, sizes, rates), good and bad input.
#include <doctest/doctest.h>

#include "sim/core/time.hpp"
#include "sim/core/units.hpp"

using namespace ledgerfl::core;

TEST_CASE("durations parse with units") {
  CHECK(parse_duration("250ms") == SimTime::ms(250));
  CHECK(parse_duration("2s") == SimTime::s(2));
  CHECK(parse_duration("12 s") == SimTime::s(12));
  CHECK(parse_duration("1.5h") == SimTime::s(5400));
  CHECK(parse_duration("3d") == SimTime::s(3 * 86400));
  CHECK(parse_duration("2min") == SimTime::s(120));
  CHECK(parse_duration("2m") == SimTime::s(120));
  CHECK(parse_duration("1500us") == SimTime::us(1500));
  CHECK(parse_duration("10ns") == SimTime::ns(10));
  CHECK(parse_duration("0") == SimTime::ns(0));
  CHECK(parse_duration("1e-3s") == SimTime::ms(1));
  CHECK(parse_duration(" 7 ms ") == SimTime::ms(7));
}

TEST_CASE("bad durations are rejected") {
  for (const char* bad :
       {"", "s", "10", "-1s", "10 parsecs", "1.5hh", "ms10", "nan s", "1e30d", "2 s s", "inf s"})
    CHECK_MESSAGE(!parse_duration(bad), bad);
}

TEST_CASE("durations print readably") {
  CHECK(to_string(SimTime::ns(0)) == "0s");
  CHECK(to_string(SimTime::ms(250)) == "250ms");
  CHECK(to_string(SimTime::ms(1500)) == "1.5s");
  CHECK(to_string(SimTime::s(3723)) == "1h 2m 3s");
  CHECK(to_string(SimTime::ns(12)) == "12ns");
  CHECK(SimTime::from_seconds(0.1234567894) == SimTime::ns(123456789));
}

TEST_CASE("sizes") {
  CHECK(parse_size("32KiB") == 32768);
  CHECK(parse_size("1.5 MB") == 1500000);
  CHECK(parse_size("512B") == 512);
  CHECK(parse_size("2GiB") == 2147483648LL);
  CHECK(parse_size("100") == 100);
  CHECK_FALSE(parse_size("1.5B"));
  CHECK_FALSE(parse_size("12 parsec"));
  CHECK_FALSE(parse_size("-3KB"));
  CHECK_FALSE(parse_size("KB"));
}

TEST_CASE("rates") {
  CHECK(parse_rate("100Mbps") == doctest::Approx(1e8));
  CHECK(parse_rate("1 Gbps") == doctest::Approx(1e9));
  CHECK(parse_rate("56kbps") == doctest::Approx(56e3));
  CHECK(parse_rate("10MB/s") == doctest::Approx(8e7));
  CHECK(parse_rate("1e6") == doctest::Approx(1e6));
  CHECK_FALSE(parse_rate("0Mbps"));
  CHECK_FALSE(parse_rate("100 Mbit"));
  CHECK_FALSE(parse_rate("fast"));
  CHECK_FALSE(parse_rate("1e300GiB/s"));  // overflows to +inf (fuzz_units finding)
  CHECK(parse_rate("1e300bps") == doctest::Approx(1e300));
}
