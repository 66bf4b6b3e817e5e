// Tests for edit_distance, nearest and the unit-typo suggestions.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sim/scenario/params.hpp"
#include "sim/scenario/suggest.hpp"

using namespace ledgerfl::scenario;

TEST_CASE("edit_distance: closed-form Levenshtein cases") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("abc", "abc") == 0);
  CHECK(edit_distance("kitten", "sitting") == 3);  // the textbook example
  CHECK(edit_distance("flaw", "lawn") == 2);
  CHECK(edit_distance("modle", "model") == 2);  // a transposition costs two edits
  CHECK(edit_distance("ab", "ba") == 2);
  CHECK(edit_distance("sync", "synch") == 1);
  // Symmetric.
  CHECK(edit_distance("sitting", "kitten") == 3);
}

TEST_CASE("nearest: threshold max(2, len/3) and ties to the first candidate") {
  const std::vector<std::string> keys{"model", "lr", "rounds"};
  CHECK(nearest("modle", keys) == "model");
  CHECK(nearest("round", keys) == "rounds");
  CHECK(nearest("lr", keys) == "lr");  // exact match
  CHECK_FALSE(nearest("aggregator", keys).has_value());

  const std::vector<std::string> tie{"xb", "ay"};
  CHECK(nearest("ab", tie) == "xb");  // both at distance 1
  const std::vector<std::string> tie2{"ay", "xb"};
  CHECK(nearest("ab", tie2) == "ay");

  // A 10-letter word tolerates 3 edits, not 4.
  const std::vector<std::string> three{"abcdefgxyz"};
  const std::vector<std::string> four{"abcdefwxyz"};
  CHECK(nearest("abcdefghij", three) == "abcdefgxyz");
  CHECK_FALSE(nearest("abcdefghij", four).has_value());
  // Short words still tolerate 2 edits.
  const std::vector<std::string> s{"s"};
  CHECK(nearest("sec", s) == "s");
  CHECK_FALSE(nearest("secs", s).has_value());

  CHECK_FALSE(nearest("x", std::vector<std::string>{}).has_value());
  CHECK(did_you_mean("synch", std::vector<std::string>{"sync", "async"}) ==
        " (did you mean \"sync\"?)");
  CHECK(did_you_mean("zzzzzz", std::vector<std::string>{"sync", "async"}).empty());
}

TEST_CASE("suggest_unit_fix: aliases, case and nearest unit") {
  const std::vector<std::string> units{"ns", "us", "ms", "s", "min", "h"};
  const UnitAlias aliases[] = {{"seconds", "s"}};
  CHECK(suggest_unit_fix("10 msec", units) == "10ms");
  CHECK(suggest_unit_fix("10MS", units) == "10ms");  // case-insensitive before nearest
  CHECK(suggest_unit_fix("1.5 seconds", units, aliases) == "1.5s");
  CHECK(suggest_unit_fix("  2 mins", units) == "2min");
  CHECK_FALSE(suggest_unit_fix("10 parsecs", units).has_value());
  CHECK_FALSE(suggest_unit_fix("fast", units).has_value());  // no number
  CHECK_FALSE(suggest_unit_fix("10", units).has_value());    // no unit to fix
  CHECK_FALSE(suggest_unit_fix("", units).has_value());
}
