// libFuzzer target: the HDF5 readers behind `ledgerfl audit` and `ledgerfl check`, fed a run
// file. The input is written to a temporary file and opened as a run and as a golden.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>

#include "sim/chain/audit.hpp"
#include "sim/metrics/check.hpp"
#include "sim/metrics/error.hpp"
#include "sim/metrics/reader.hpp"

namespace {

std::string temp_path() {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/ledgerfl_fuzz_h5_" +
         std::to_string(::getpid()) + ".h5";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = temp_path();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) __builtin_trap();
    if (size && std::fwrite(data, 1, size, f) != size) __builtin_trap();
    std::fclose(f);
  }
  // audit: every failure is a return code (2 unreadable, 1 broken ledger), never an exception.
  std::ostringstream sink;
  const int rc = ledgerfl::chain::audit_run(path, sink);
  if (rc < 0 || rc > 2) __builtin_trap();
  // check: an unreadable file is metrics::H5Error (exit 2 in main), nothing else.
  try {
    (void)ledgerfl::metrics::check_against_golden(path, path, {}, 0.0, 0.0);
  } catch (const ledgerfl::metrics::H5Error&) {
  }
  // The reader's own accessors, as analysis-style callers use them.
  try {
    ledgerfl::metrics::H5Reader r(path);
    for (const auto& m : r.round_metrics()) (void)r.round_column(m);
    (void)r.timing_wall_s();
  } catch (const ledgerfl::metrics::H5Error&) {
  }
  std::remove(path.c_str());
  return 0;
}
