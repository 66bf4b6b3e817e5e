// Robustness: mutated scenario text never crashes, only InputError; resolved TOML round-trips.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sim/scenario/params.hpp"
#include "tests/scenario/error_of.hpp"

using namespace ledgerfl;
using namespace ledgerfl::scenario;

namespace {

constexpr std::string_view kBase = R"(seed = 42
name = "ünïcode ✓ \t tab"
"quoted key" = 1
"" = "empty key"
big = 9223372036854775807
neg = -9223372036854775808
hex = 0xff
f = [1, 2.5, "x", [true, []], { a = 1 }]
when = 1979-05-27T07:32:00.999999-07:00
day = 1979-05-27
clock = 07:32:00
x.y.z = 0.1
[learning]
lr = 1e-7
inf = -inf
nan = nan
model = { type = "mlp", hidden = [64, 32] }
[[agents.attack]]
kind = "alie"
[agents.attack.params]
z = 1.5
[[agents.attack]]
[network]
latency = "10ms"
)";

// A tiny deterministic generator (SplitMix64) so the cases are the same on every run.
struct Gen {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

// Tries every kind of read on every key, recursively; only InputError may come out.
void read_everything(const ParamView& v, int depth) {
  if (depth > 6) return;
  for (const auto& k : v.keys()) {
    constexpr std::string_view opts[] = {"a", "b"};
    const auto attempt = [](auto&& f) {
      try {
        f();
      } catch (const InputError&) {
      }
    };
    attempt([&] { v.number(k, 0.0); });
    attempt([&] { v.integer(k, 0, Bounds::non_negative()); });
    attempt([&] { v.boolean(k, false); });
    attempt([&] { v.string(k, ""); });
    attempt([&] { v.choice(k, opts, "a"); });
    attempt([&] { v.duration(k, core::SimTime()); });
    attempt([&] { v.size(k, 0); });
    attempt([&] { v.rate(k, 1.0); });
    attempt([&] { v.number_list(k, std::vector<double>{}); });
    attempt([&] { v.integer_list(k, std::vector<std::int64_t>{}); });
    attempt([&] { v.string_list(k, std::vector<std::string>{}); });
    attempt([&] { read_everything(v.table(k), depth + 1); });
    attempt([&] {
      for (const auto& e : v.table_array(k)) read_everything(e, depth + 1);
    });
    attempt([&] { v.fail(k, "custom"); });
  }
  // Defaults for keys that are absent.
  v.number("zz_absent", 1.0);
  v.table("zz_table").duration("d", core::SimTime::ms(1500));
}

}  // namespace

TEST_CASE("the base text: every read is safe and the resolved TOML round-trips") {
  auto doc = Document::parse(kBase, "q.toml");
  read_everything(doc->root(), 0);
  CHECK_NOTHROW(doc->check_unused());
  const std::string once = doc->resolved_toml();
  INFO(once);
  std::unique_ptr<Document> again;
  REQUIRE_NOTHROW(again = Document::parse(once, "resolved.toml"));
  CHECK(again->resolved_toml() == once);  // writing is a fixed point
  auto r = again->root();
  CHECK(r.integer("big", 0) == 9223372036854775807LL);
  CHECK(r.integer("neg", 0) == (-9223372036854775807LL - 1));
  CHECK(r.string("name", "") == "ünïcode ✓ \t tab");
  CHECK(r.string("", "") == "empty key");
  CHECK(r.table("learning").number("lr", 0) == 1e-7);
  CHECK(r.table("x").table("y").number("z", 0) == 0.1);
}

TEST_CASE("mutated scenarios: only InputError, and resolved TOML always re-parses") {
  const std::string alphabet = "[]{}=\"'.,#\n \t0123456789abcxyz-+eE_:\\\xc3\xa9\xff";
  Gen g{12345};
  int parsed = 0;
  for (int it = 0; it < 1500; ++it) {
    std::string text(kBase);
    const std::size_t edits = 1 + g.below(4);
    for (std::size_t e = 0; e < edits; ++e) {
      const std::size_t at = g.below(text.size() + 1);
      const char c = alphabet[g.below(alphabet.size())];
      switch (g.below(3)) {
        case 0:
          text.insert(at, 1, c);
          break;
        case 1:
          if (at < text.size()) text.erase(at, 1);
          break;
        default:
          if (at < text.size()) text[at] = c;
      }
    }
    std::unique_ptr<Document> doc;
    try {
      doc = Document::parse(text, "fuzz.toml");
    } catch (const InputError& e) {
      CHECK(std::string(e.what()).starts_with("fuzz.toml:"));
      continue;
    }
    ++parsed;
    // Overrides with random keys and values, before any read.
    const std::string key = std::string(1, "abxl"[g.below(4)]) + (g.below(2) ? ".k" : "");
    const std::string value(1, alphabet[g.below(alphabet.size())]);
    try {
      doc->apply_override(key + "=" + value);
    } catch (const InputError&) {
    }
    read_everything(doc->root(), 0);
    try {
      doc->check_unused();
    } catch (const InputError&) {
    }
    const std::string resolved = doc->resolved_toml();
    INFO(text);
    INFO(resolved);
    CHECK_NOTHROW(Document::parse(resolved, "resolved.toml"));
  }
  CHECK(parsed > 100);  // the mutations must leave enough valid documents to test the readers
}

// toml++ 3.3.0 reaches undefined behaviour on some invalid UTF-8 (upstream issue 295), so the
// text is checked first: every ill-formed sequence, anywhere, is an InputError at its line and
// column, and toml++ never sees it.
TEST_CASE("invalid UTF-8 anywhere is reported at its line and column before parsing") {
  const std::vector<std::string> bad = {"\x80",
                                        "\xbf",
                                        "\xc0\xaf",
                                        "\xc1\xbf",
                                        "\xc2",
                                        "\xc2\x41",
                                        "\xe0\x80\xaf",
                                        "\xe0\x9f\xbf",
                                        "\xed\xa0\x80",
                                        "\xed\xbf\xbf",
                                        "\xe2\x82",
                                        "\xe2\x28\xa1",
                                        "\xf0\x8f\xbf\xbf",
                                        "\xf4\x90\x80\x80",
                                        "\xf5\x80\x80\x80",
                                        "\xf8\x88\x80\x80\x80",
                                        "\xfe",
                                        "\xff"};
  int tried = 0;
  for (std::size_t at = 0; at <= kBase.size(); at += 3) {
    for (const auto& seq : bad) {
      std::string text(kBase);
      text.insert(at, seq);
      int line = 1, column = 1;
      for (std::size_t i = 0; i < at;) {  // kBase is valid UTF-8: count characters
        const auto c = static_cast<unsigned char>(text[i]);
        i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (c == '\n') {
          ++line;
          column = 1;
        } else {
          ++column;
        }
      }
      // Only between whole characters of kBase (inside one, kBase's own character would be the
      // first bad one).
      const bool boundary =
          at == kBase.size() || (static_cast<unsigned char>(kBase[at]) & 0xC0) != 0x80;
      if (!boundary) continue;
      ++tried;
      const std::string msg = test::error_of([&] { Document::parse(text, "u.toml"); });
      const std::string where =
          "u.toml:" + std::to_string(line) + ":" + std::to_string(column) + ": invalid UTF-8";
      CHECK_MESSAGE(msg.rfind(where, 0) == 0, "at " << at << ": " << msg);
    }
  }
  MESSAGE("invalid UTF-8 scenarios tried: " << tried);
  CHECK(tried > 1000);
  // Well-formed multi-byte text (2, 3 and 4 bytes, the largest code point) is accepted.
  CHECK_NOTHROW(Document::parse("x = \"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"\n",
                                "ok.toml"));
}
