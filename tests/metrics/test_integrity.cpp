// Tests of the /integrity digest chain and the Fletcher-32 chunk checksums of the run file.
#include <hdf5.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "sim/core/record.hpp"
#include "sim/metrics/integrity.hpp"
#include "sim/metrics/reader.hpp"
#include "sim/metrics/writer.hpp"
#include "tests/metrics/tmp_path.hpp"

namespace {

using ledgerfl::core::Cell;
using ledgerfl::core::ColumnSpec;
using ledgerfl::core::ColumnType;
using ledgerfl::core::Hash32;
using ledgerfl::core::RoundSummary;
using ledgerfl::metrics::H5Writer;
using ledgerfl::metrics::IntegrityReport;
using ledgerfl::metrics::verify_integrity;
using S = IntegrityReport::Status;
using ledgerfl::metrics::testing::TmpPath;

const std::vector<ColumnSpec> kCols = {{"height", ColumnType::kInt64},
                                       {"hash", ColumnType::kHash32}};

// 6 rounds, a table of 10 rows per round, a metric that appears in round 3, two meta values.
std::string write_run(const std::string& path, double bias = 0.0) {
  H5Writer w(path);
  w.set_meta("seed", std::int64_t{7});
  w.set_meta("scenario_toml", std::string("name = \"x\"\n"));
  auto& t = w.table("/ledger/blocks", kCols);
  for (int r = 0; r < 6; ++r) {
    for (int k = 0; k < 10; ++k) {
      Hash32 h{};
      h[0] = static_cast<std::uint8_t>(r * 10 + k);
      t.append(std::vector<Cell>{Cell{std::int64_t{r * 10 + k}}, Cell{h}});
    }
    RoundSummary s;
    s.add("loss", 1.0 / (r + 1) + bias);
    if (r >= 3) s.add("late", std::int64_t{r});
    s.wall_s = 0.1 * r + bias;  // wall clock: not hashed
    w.on_round(s);
  }
  w.on_finish();
  return w.digest_hex();
}

// Overwrites row `row` of a 1-D dataset with `bytes` through HDF5 (checksums recomputed).
void rewrite_row(const std::string& file, const char* dataset, hsize_t row,
                 const std::vector<unsigned char>& bytes) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(f >= 0);
  const hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
  REQUIRE(d >= 0);
  const hid_t type = H5Dget_type(d);
  REQUIRE(H5Tget_size(type) == bytes.size());
  const hid_t fs = H5Dget_space(d);
  const hsize_t one = 1;
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, &row, nullptr, &one, nullptr);
  const hid_t ms = H5Screate_simple(1, &one, nullptr);
  CHECK(H5Dwrite(d, type, ms, fs, H5P_DEFAULT, bytes.data()) >= 0);
  H5Sclose(ms);
  H5Sclose(fs);
  H5Tclose(type);
  H5Dclose(d);
  H5Fclose(f);
}

std::vector<unsigned char> row_bytes(double v) {
  std::vector<unsigned char> b(8);
  std::memcpy(b.data(), &v, 8);
  return b;
}

}  // namespace

TEST_CASE("the digest chain verifies, is reproducible and pins the content") {
  TmpPath a("integrity_a"), b("integrity_b"), c("integrity_c");
  const std::string da = write_run(a.str());
  const std::string db = write_run(b.str());
  const std::string dc = write_run(c.str(), 1e-12);
  const IntegrityReport ra = verify_integrity(a.str());
  REQUIRE(ra.status == S::kOk);
  CHECK(ra.message.empty());
  CHECK(ra.rounds == 6);
  CHECK(ra.flushes >= 6);
  CHECK(ra.digest_hex == da);
  CHECK(da.size() == 64);
  CHECK(da == db);  // same content, another file name
  CHECK(dc != da);  // one ulp-ish change in every loss value
  CHECK(verify_integrity(c.str()).digest_hex == dc);
}

TEST_CASE("changes made through HDF5 (checksums recomputed) break the chain") {
  TmpPath a("integrity_edit");
  SUBCASE("a /rounds value") {
    write_run(a.str());
    rewrite_row(a.str(), "/rounds/loss", 2, row_bytes(0.3));
    const auto r = verify_integrity(a.str());
    CHECK(r.status == S::kMismatch);
    CHECK(r.message.find("/rounds/loss") != std::string::npos);
  }
  SUBCASE("a back-filled value of a late metric") {
    write_run(a.str());
    std::vector<unsigned char> v(8);
    const std::int64_t x = 5;
    std::memcpy(v.data(), &x, 8);
    rewrite_row(a.str(), "/rounds/late", 0, v);
    CHECK(verify_integrity(a.str()).status == S::kMismatch);
  }
  SUBCASE("a table row") {
    write_run(a.str());
    std::vector<unsigned char> row(40, 0);
    rewrite_row(a.str(), "/ledger/blocks", 59, row);
    CHECK(verify_integrity(a.str()).status == S::kMismatch);
  }
  SUBCASE("the recorded digest of the last flush") {
    write_run(a.str());
    const hid_t f = H5Fopen(a.str().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t d = H5Dopen2(f, "/integrity/commits", H5P_DEFAULT);
    const hid_t sp = H5Dget_space(d);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(sp, &n, nullptr);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
    std::vector<unsigned char> row(80, 0);
    const std::int64_t flush = static_cast<std::int64_t>(n - 1);
    std::memcpy(row.data(), &flush, 8);
    row[79] = 1;
    rewrite_row(a.str(), "/integrity/commits", n - 1, row);
    CHECK(verify_integrity(a.str()).status == S::kMismatch);
  }
  SUBCASE("wall clock is counted, not hashed") {
    write_run(a.str());
    rewrite_row(a.str(), "/timing/wall_s", 1, row_bytes(99.0));
    CHECK(verify_integrity(a.str()).status == S::kOk);
  }
  SUBCASE("a /meta attribute") {
    write_run(a.str());
    const hid_t f = H5Fopen(a.str().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t g = H5Gopen2(f, "/meta", H5P_DEFAULT);
    const hid_t at = H5Aopen(g, "seed", H5P_DEFAULT);
    const std::int64_t v = 8;
    CHECK(H5Awrite(at, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(at);
    H5Gclose(g);
    H5Fclose(f);
    const auto r = verify_integrity(a.str());
    CHECK(r.status == S::kMismatch);
    CHECK(r.message.find("/meta") != std::string::npos);
  }
  SUBCASE("an added dataset") {
    write_run(a.str());
    const hid_t f = H5Fopen(a.str().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hsize_t n = 3;
    const hid_t sp = H5Screate_simple(1, &n, nullptr);
    const hid_t d =
        H5Dcreate2(f, "/rounds/extra", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
    const auto r = verify_integrity(a.str());
    CHECK(r.status == S::kMismatch);
    CHECK(r.message.find("/rounds/extra") != std::string::npos);
  }
}

TEST_CASE("a flipped byte in a chunk is a Fletcher-32 error, not garbage") {
  TmpPath a("integrity_flip");
  write_run(a.str());
  haddr_t addr = 0;
  {
    const hid_t f = H5Fopen(a.str().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t d = H5Dopen2(f, "/rounds/loss", H5P_DEFAULT);
    const hsize_t off = 0;
    unsigned mask = 0;
    hsize_t size = 0;
    REQUIRE(H5Dget_chunk_info_by_coord(d, &off, &mask, &addr, &size) >= 0);
    H5Dclose(d);
    H5Fclose(f);
  }
  std::vector<char> bytes;
  {
    std::ifstream in(a.str(), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  bytes[addr + 9] ^= 0x40;  // inside row 1 of /rounds/loss
  {
    std::ofstream out(a.str(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  const auto r = verify_integrity(a.str());
  CHECK(r.status == S::kUnreadable);
  CHECK(r.message.find("Fletcher32") != std::string::npos);
}

TEST_CASE("no /integrity: absent, not ok") {
  TmpPath a("integrity_none");
  const hid_t f = H5Fcreate(a.str().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(f >= 0);
  H5Fclose(f);
  CHECK(verify_integrity(a.str()).status == S::kAbsent);
  CHECK(verify_integrity(a.str() + ".missing").status == S::kUnreadable);
}
