// libFuzzer target: the HDF5 readers behind `ledgerfl audit` and `ledgerfl check`, fed damaged
// run files. The smallest run file our writer produces is ~200 KB of mostly HDF5 metadata and
// preallocated chunks, too large for libFuzzer to mutate usefully as raw bytes, so the target
// is bounded to byte flips and truncations of valid files: at start-up it writes two base files
// with metrics::H5Writer (a 4-validator BFT chain run with /ledger tables, and a learning-style
// run with /rounds and /meta), so they always have the writer's current layout.
// Bounded to our layer: flips land only in the bytes of dataset values (the chunks and
// contiguous storage of every dataset, found with the HDF5 API on the intact file), i.e. what
// audit and check interpret. Flips in HDF5's own metadata crash Debian's libhdf5 1.10.8 inside
// H5Literate (H5G__dense_iterate frees a garbage pointer; reproducer:
// tests/fuzz/hdf5_crashes/h5_dense_link_iterate) -- a crash in the C library we cannot fix
// from here (the `ledgerfl audit` / `check` commands contain it by reading in a forked child,
// sim/cli/main.cpp in_child; this target calls the readers in-process); LEDGERFL_FUZZ_H5_ANYWHERE=1
// in the environment lets flips land anywhere again, to replay that reproducer or to look for more.
// Truncation (bit 7 of byte 0) still cuts anywhere in the file. Input: byte 0 picks the base (bit
// 0) and whether to truncate (bit 7: the file ends at the first edit's offset, taken modulo the
// file size); then up to 64 edits of 5 bytes, a little-endian offset (modulo the value bytes) and a
// mask XORed into that byte (0 means 0xFF).
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "sim/chain/audit.hpp"
#include "sim/chain/bft.hpp"
#include "sim/chain/simulation.hpp"
#include "sim/metrics/check.hpp"
#include "sim/metrics/error.hpp"
#include "sim/metrics/reader.hpp"
#include "sim/metrics/writer.hpp"

#include <hdf5.h>

using namespace ledgerfl;

namespace {

std::string temp_path(const std::string& what) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/ledgerfl_fuzz_h5_" +
         std::to_string(::getpid()) + "_" + what + ".h5";
}

struct Base {
  std::vector<char> bytes;
  std::vector<std::size_t> value_offsets;  // file offsets of every byte of dataset values
};

herr_t add_dataset_bytes(hid_t obj, const char* name, const H5O_info_t* info, void* out) {
  if (info->type != H5O_TYPE_DATASET) return 0;
  auto& offs = *static_cast<std::vector<std::size_t>*>(out);
  const hid_t d = H5Dopen2(obj, name, H5P_DEFAULT);
  if (d < 0) return -1;
  const hid_t space = H5Dget_space(d);
  hsize_t chunks = 0;
  if (H5Dget_num_chunks(d, space, &chunks) >= 0 && chunks > 0) {
    for (hsize_t i = 0; i < chunks; ++i) {
      haddr_t addr = 0;
      hsize_t size = 0;
      if (H5Dget_chunk_info(d, space, i, nullptr, nullptr, &addr, &size) >= 0 &&
          addr != HADDR_UNDEF)
        for (hsize_t b = 0; b < size; ++b) offs.push_back(static_cast<std::size_t>(addr + b));
    }
  } else if (const haddr_t addr = H5Dget_offset(d); addr != HADDR_UNDEF) {
    const hsize_t size = H5Dget_storage_size(d);
    for (hsize_t b = 0; b < size; ++b) offs.push_back(static_cast<std::size_t>(addr + b));
  }
  H5Sclose(space);
  H5Dclose(d);
  return 0;
}

Base slurp(const std::string& path) {
  Base base;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) __builtin_trap();  // the harness is broken, not the input
  if (H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_NATIVE, add_dataset_bytes, &base.value_offsets,
                H5O_INFO_BASIC) < 0)
    __builtin_trap();
  H5Fclose(f);
  std::ifstream in(path, std::ios::binary);
  base.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  if (base.bytes.empty() || base.value_offsets.empty()) __builtin_trap();
  for (std::size_t o : base.value_offsets)
    if (o >= base.bytes.size()) __builtin_trap();
  return base;
}

Base chain_base() {
  const std::string path = temp_path("chain");
  {
    net::NetworkSpec s;
    s.options.validators = 4;
    s.options.regions = net::single_region(30.0, 1e8);
    s.overlay = net::complete_graph(4);
    chain::ChainSimOptions so;
    so.duration = core::SimTime::s(12);
    so.metrics_interval = core::SimTime::s(4);
    chain::PoissonWorkloadOptions wo;
    wo.rate = 2;
    chain::BftOptions o;
    chain::ChainSimulation sim(
        so, std::move(s), std::make_unique<chain::PoissonWorkload>(wo, 1),
        [&](chain::ChainContext& ctx) {
          return std::unique_ptr<chain::Consensus>(chain::make_bft(o, ctx));
        },
        1);
    metrics::H5Writer w(path);
    w.set_meta("seed", std::int64_t{1});
    sim.run(w);
    w.on_finish();
  }
  return slurp(path);
}

Base learning_base() {
  const std::string path = temp_path("learning");
  {
    metrics::H5Writer w(path);
    w.set_meta("seed", std::int64_t{7});
    w.set_meta("scenario_toml", std::string("[simulation]\nseed = 7\n"));
    for (int r = 0; r < 4; ++r) {
      core::RoundSummary s;
      s.add("test_accuracy", 1.0 - 0.9 * std::exp(-r / 5.0));
      s.add("test_loss", 2.3 * std::exp(-r / 4.0));
      s.add("participants", std::int64_t{10 + r});
      s.wall_s = 0.01;
      w.on_round(s);
    }
    w.on_finish();
  }
  return slurp(path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Base bases[2] = {chain_base(), learning_base()};
  static const std::string path = temp_path("input");
  static const bool anywhere = std::getenv("LEDGERFL_FUZZ_H5_ANYWHERE") != nullptr;
  if (size == 0) return -1;
  const Base& base = bases[data[0] & 1];
  std::vector<char> file = base.bytes;
  std::size_t truncate_at = file.size();
  for (std::size_t i = 1, k = 0; i + 5 <= size && k < 64; i += 5, ++k) {
    const std::uint32_t off = static_cast<std::uint32_t>(data[i]) |
                              static_cast<std::uint32_t>(data[i + 1]) << 8 |
                              static_cast<std::uint32_t>(data[i + 2]) << 16 |
                              static_cast<std::uint32_t>(data[i + 3]) << 24;
    if (k == 0 && (data[0] & 0x80)) truncate_at = off % file.size();
    const std::size_t at =
        anywhere ? off % file.size() : base.value_offsets[off % base.value_offsets.size()];
    file[at] = static_cast<char>(file[at] ^ (data[i + 4] ? data[i + 4] : 0xFF));
  }
  file.resize(truncate_at);
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) __builtin_trap();
    if (!file.empty() && std::fwrite(file.data(), 1, file.size(), f) != file.size())
      __builtin_trap();
    std::fclose(f);
  }
  // audit: every failure is a return code (2 unreadable, 1 broken ledger), never an exception.
  std::ostringstream sink;
  const int rc = chain::audit_run(path, sink);
  if (rc < 0 || rc > 2) __builtin_trap();
  // check: an unreadable file is metrics::H5Error (exit 2 in main), nothing else.
  try {
    (void)metrics::check_against_golden(path, path, {}, 0.0, 0.0);
  } catch (const metrics::H5Error&) {
  }
  // The reader's own accessors, as other callers use them.
  try {
    metrics::H5Reader r(path);
    for (const auto& m : r.round_metrics()) (void)r.round_column(m);
    (void)r.timing_wall_s();
    (void)r.meta_string("scenario_toml");
  } catch (const metrics::H5Error&) {
  }
  std::remove(path.c_str());
  return 0;
}
