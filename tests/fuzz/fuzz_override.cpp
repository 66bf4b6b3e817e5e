// libFuzzer target: `--set key.path=value` overrides applied to a shipped scenario, validated.
// Input: the first byte picks the base scenario; the rest is up to 4 overrides, one per line.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/validate_harness.hpp"

namespace {

std::string read_scenario(const char* rel) {
  std::ifstream in(std::string(LEDGERFL_SOURCE_DIR) + "/scenarios/" + rel, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().empty()) __builtin_trap();  // the harness is broken, not the input
  return ss.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A chain scenario and a synthetic-data learning scenario: both validate without disk data.
  static const std::string bases[] = {read_scenario("chain/bft_consortium.toml"),
                                      read_scenario("synthetic_fedprox.toml"),
                                      read_scenario("chain/bitcoin_like.toml")};
  if (size == 0) return -1;
  const std::string& base = bases[data[0] % 3];
  std::vector<std::string> sets;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  while (!rest.empty() && sets.size() < 4) {
    const auto nl = rest.find('\n');
    sets.emplace_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
  return ledgerfl::fuzz::validate_text(base, sets) ? 0 : -1;
}
