// libFuzzer target: a whole scenario file through parsing and validation (`ledgerfl validate`).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/validate_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  return ledgerfl::fuzz::validate_text(text, {}) ? 0 : -1;  // -1: keep out of the corpus
}
