// Tests of the HDF5 run file: round trip, back-fill, tables, large attributes, errors, kill safety.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
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
using ledgerfl::metrics::H5Error;
using ledgerfl::metrics::H5Reader;
using ledgerfl::metrics::H5Writer;
using ledgerfl::metrics::testing::TmpPath;

constexpr std::int64_t kMissingInt = std::numeric_limits<std::int64_t>::min();

RoundSummary round_of(int r) {
  RoundSummary s;
  s.add("test_accuracy", 0.5 + 0.01 * r);
  s.add("loss", 2.0 / (r + 1));
  s.add("participants", std::int64_t{10 + r});
  s.wall_s = 0.25 * r;
  return s;
}

Hash32 hash_of(std::int64_t i) {
  Hash32 h{};
  for (std::size_t k = 0; k < h.size(); ++k) h[k] = static_cast<std::uint8_t>(i * 31 + k * 7);
  return h;
}

const std::vector<ColumnSpec> kBlockColumns = {{"height", ColumnType::kInt64},
                                               {"time_s", ColumnType::kFloat64},
                                               {"hash", ColumnType::kHash32}};

std::vector<Cell> block_row(std::int64_t i) {
  return {Cell{i}, Cell{0.5 * static_cast<double>(i)}, Cell{hash_of(i)}};
}

void check_block_rows(const std::vector<std::vector<Cell>>& rows, std::size_t n) {
  REQUIRE(rows.size() == n);
  for (std::size_t i = 0; i < n; ++i) {
    REQUIRE(rows[i].size() == 3);
    const auto want = block_row(static_cast<std::int64_t>(i));
    CHECK(std::get<std::int64_t>(rows[i][0]) == std::get<std::int64_t>(want[0]));
    CHECK(std::get<double>(rows[i][1]) == std::get<double>(want[1]));
    CHECK(std::get<Hash32>(rows[i][2]) == std::get<Hash32>(want[2]));
  }
}

bool message_contains(const std::exception& e, const std::string& s) {
  return std::string(e.what()).find(s) != std::string::npos;
}

}  // namespace

TEST_CASE("rounds, timing and meta round-trip through the file") {
  TmpPath tmp("roundtrip");
  {
    H5Writer w(tmp.str());
    w.set_meta("version", std::string("0.1.0"));
    w.set_meta("seed", std::int64_t{-42});
    w.set_meta("command_line", std::string("ledgerfl run a.toml"));
    w.set_meta("command_line", std::string("ledgerfl run b.toml --seed 7"));  // replaces
    for (int r = 0; r < 4; ++r) w.on_round(round_of(r));
    CHECK(w.rounds() == 4);
    w.on_finish();
    CHECK_THROWS_AS(w.set_meta("late", std::int64_t{1}), H5Error);
    CHECK_THROWS_AS(w.on_round(round_of(4)), H5Error);
  }
  H5Reader r(tmp.str());
  CHECK(r.rounds() == 4);
  CHECK(r.round_metrics() == std::vector<std::string>{"test_accuracy", "loss", "participants"});
  CHECK_FALSE(r.round_metric_is_int("loss"));
  CHECK(r.round_metric_is_int("participants"));
  const auto acc = r.round_column("test_accuracy");
  const auto loss = r.round_column("loss");
  const auto part = r.round_column_int("participants");
  const auto part_d = r.round_column("participants");
  const auto wall = r.timing_wall_s();
  REQUIRE(acc.size() == 4);
  REQUIRE(loss.size() == 4);
  REQUIRE(part.size() == 4);
  REQUIRE(wall.size() == 4);
  for (int i = 0; i < 4; ++i) {
    CHECK(acc[i] == 0.5 + 0.01 * i);  // bit-exact: float64 stored as float64
    CHECK(loss[i] == 2.0 / (i + 1));
    CHECK(part[i] == 10 + i);
    CHECK(part_d[i] == 10.0 + i);
    CHECK(wall[i] == 0.25 * i);
  }
  CHECK_THROWS_AS(r.round_column_int("loss"), H5Error);
  CHECK(r.meta_string("version") == "0.1.0");
  CHECK(r.meta_string("command_line") == "ledgerfl run b.toml --seed 7");
  CHECK(r.meta_int("seed") == -42);
  CHECK_FALSE(r.meta_string("absent").has_value());
  CHECK_FALSE(r.meta_int("absent").has_value());
  CHECK_THROWS_AS(r.meta_int("version"), H5Error);
  CHECK_THROWS_AS(r.meta_string("seed"), H5Error);
  CHECK(r.meta_names() == std::vector<std::string>{"command_line", "seed", "version"});
  CHECK(r.has("/meta"));
  CHECK(r.has("/rounds/loss"));
  CHECK(r.has("/timing/wall_s"));
  CHECK_FALSE(r.has("/rounds/nope"));
  CHECK_FALSE(r.has("/nope/deeper"));
  try {
    r.round_column("nope");
    FAIL("expected H5Error");
  } catch (const H5Error& e) {
    CHECK(message_contains(e, tmp.str()));
    CHECK(message_contains(e, "/rounds/nope"));
  }
}

TEST_CASE("the destructor alone leaves a complete file") {
  TmpPath tmp("dtor");
  {
    H5Writer w(tmp.str());
    w.on_round(round_of(0));
    auto& t = w.table("/ledger/blocks", kBlockColumns);
    for (int i = 0; i < 3; ++i) t.append(block_row(i));  // buffered, written by the destructor
  }
  H5Reader r(tmp.str());
  CHECK(r.rounds() == 1);
  check_block_rows(r.table_rows("/ledger/blocks"), 3);
}

TEST_CASE("missing metrics are filled and late metrics back-filled") {
  TmpPath tmp("backfill");
  {
    H5Writer w(tmp.str());
    RoundSummary r0;
    r0.add("a", 1.0);
    r0.add("n", std::int64_t{5});
    w.on_round(r0);
    RoundSummary r1;
    r1.add("a", 2.0);
    w.on_round(r1);
    RoundSummary r2;
    r2.add("late_i", std::int64_t{9});  // new metrics may come first in a round
    r2.add("a", 3.0);
    r2.add("n", std::int64_t{7});
    r2.add("late", 0.5);
    w.on_round(r2);
    RoundSummary r3;  // an empty round still counts
    w.on_round(r3);
  }
  H5Reader r(tmp.str());
  CHECK(r.rounds() == 4);
  CHECK(r.round_metrics() == std::vector<std::string>{"a", "n", "late_i", "late"});
  const auto a = r.round_column("a");
  REQUIRE(a.size() == 4);
  CHECK(a[0] == 1.0);
  CHECK(a[2] == 3.0);
  CHECK(std::isnan(a[3]));
  CHECK(r.round_column_int("n") == std::vector<std::int64_t>{5, kMissingInt, 7, kMissingInt});
  const auto n = r.round_column("n");
  CHECK(n[0] == 5.0);
  CHECK(std::isnan(n[1]));
  CHECK(r.round_column_int("late_i") ==
        std::vector<std::int64_t>{kMissingInt, kMissingInt, 9, kMissingInt});
  const auto late = r.round_column("late");
  REQUIRE(late.size() == 4);
  CHECK(std::isnan(late[0]));
  CHECK(std::isnan(late[1]));
  CHECK(late[2] == 0.5);
  CHECK(std::isnan(late[3]));
}

TEST_CASE("a bad round is rejected before anything is written") {
  TmpPath tmp("badround");
  {
    H5Writer w(tmp.str());
    RoundSummary r0;
    r0.add("n", std::int64_t{1});
    r0.add("x", 1.0);
    w.on_round(r0);

    RoundSummary dup;
    dup.add("x", 2.0);
    dup.add("new_metric", 1.0);
    dup.add("x", 3.0);
    CHECK_THROWS_AS(w.on_round(dup), std::invalid_argument);

    RoundSummary wrong_type;
    wrong_type.add("n", 1.5);  // float into an int64 column
    CHECK_THROWS_AS(w.on_round(wrong_type), std::invalid_argument);

    RoundSummary bad_name;
    bad_name.add("a/b", 1.0);
    CHECK_THROWS_AS(w.on_round(bad_name), std::invalid_argument);
    CHECK(w.rounds() == 1);

    RoundSummary widened;
    widened.add("n", std::int64_t{2});
    widened.add("x", std::int64_t{4});  // int into a float64 column is converted
    w.on_round(widened);
  }
  H5Reader r(tmp.str());
  CHECK(r.rounds() == 2);
  CHECK(r.round_metrics() == std::vector<std::string>{"n", "x"});
  CHECK(r.round_column("x") == std::vector<double>{1.0, 4.0});
  CHECK(r.round_column_int("n") == std::vector<std::int64_t>{1, 2});
}

TEST_CASE("tables keep every row in order across buffer fills and flushes") {
  TmpPath tmp("tables");
  constexpr std::size_t kRows = 3 * H5Writer::kTableBufferRows + 123;
  {
    H5Writer w(tmp.str());
    auto& blocks = w.table("/ledger/blocks", kBlockColumns);
    auto& txs = w.table("ledger//txs/", std::vector<ColumnSpec>{{"fee", ColumnType::kFloat64}});
    CHECK(&w.table("/ledger/blocks", kBlockColumns) == &blocks);  // same table again
    CHECK_THROWS_AS(w.table("/ledger/blocks", std::vector<ColumnSpec>{{"x", ColumnType::kInt64}}),
                    std::invalid_argument);
    CHECK_THROWS_AS(w.table("/rounds/t", kBlockColumns), std::invalid_argument);
    CHECK_THROWS_AS(w.table("/empty", std::vector<ColumnSpec>{}), std::invalid_argument);
    CHECK_THROWS_AS(w.table("/dup", std::vector<ColumnSpec>{{"a", ColumnType::kInt64},
                                                            {"a", ColumnType::kFloat64}}),
                    std::invalid_argument);
    for (std::size_t i = 0; i < kRows; ++i) {
      blocks.append(block_row(static_cast<std::int64_t>(i)));
      txs.append(std::vector<Cell>{Cell{static_cast<double>(i) * 1e-3}});
      if (i == 10 || i == 777) w.flush();  // flushes in the middle of a buffer
      if (i % 1000 == 999) w.on_round(round_of(static_cast<int>(i / 1000)));
    }
    // Wrong width and wrong cell types are rejected and add no row.
    CHECK_THROWS_AS(blocks.append(std::vector<Cell>{Cell{std::int64_t{1}}}), std::invalid_argument);
    CHECK_THROWS_AS(blocks.append(std::vector<Cell>{Cell{1.0}, Cell{1.0}, Cell{hash_of(1)}}),
                    std::invalid_argument);
    w.on_finish();
  }
  H5Reader r(tmp.str());
  CHECK(r.has("/ledger/blocks"));
  CHECK(r.has("/ledger/txs"));
  const auto cols = r.table_columns("/ledger/blocks");
  REQUIRE(cols.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(cols[i].name == kBlockColumns[i].name);
    CHECK(cols[i].type == kBlockColumns[i].type);
  }
  CHECK(r.table_size("/ledger/blocks") == kRows);
  check_block_rows(r.table_rows("/ledger/blocks"), kRows);
  const auto tx = r.table_rows("/ledger/txs");
  REQUIRE(tx.size() == kRows);
  bool all_equal = true;
  for (std::size_t i = 0; i < kRows; ++i)
    all_equal = all_equal && std::get<double>(tx[i][0]) == static_cast<double>(i) * 1e-3;
  CHECK(all_equal);
  CHECK(r.rounds() == kRows / 1000);
  CHECK_THROWS_AS(r.table_columns("/ledger/none"), H5Error);
  CHECK_THROWS_AS(r.table_columns("/rounds/loss"), H5Error);  // not a compound dataset
}

TEST_CASE("meta attributes hold a 200 KiB UTF-8 string") {
  TmpPath tmp("bigattr");
  std::string big;
  big.reserve(210 * 1024);
  for (int i = 0; big.size() < 200 * 1024; ++i)
    big += "[round." + std::to_string(i) + "] rate = \"10 Mbit/s\" # énergie ≤ 5 µJ\n";
  std::string big2 = big;
  big2[1000] = '#';
  {
    H5Writer w(tmp.str());
    w.set_meta("scenario_toml", big);
    for (int i = 0; i < 40; ++i)
      w.set_meta(std::string("k").append(std::to_string(i)), std::int64_t{i});
    w.set_meta("scenario_toml_2", big2);
    w.on_round(round_of(0));
  }
  H5Reader r(tmp.str());
  CHECK(r.meta_string("scenario_toml") == big);
  CHECK(r.meta_string("scenario_toml_2") == big2);
  CHECK(r.meta_int("k39") == 39);
}

TEST_CASE("reader and writer errors name the file") {
  TmpPath missing("missing");
  try {
    H5Reader r(missing.str());
    FAIL("expected H5Error");
  } catch (const H5Error& e) {
    CHECK(message_contains(e, missing.str()));
    CHECK(message_contains(e, "no such file"));
  }
  TmpPath text("text");
  {
    std::ofstream out(text.str());
    out << "this is not an HDF5 file\n";
  }
  try {
    H5Reader r(text.str());
    FAIL("expected H5Error");
  } catch (const H5Error& e) {
    CHECK(message_contains(e, text.str()));
    CHECK(message_contains(e, "not a readable HDF5 file"));
  }
  const std::string bad_dir = missing.str() + ".d/nested/run.h5";
  try {
    H5Writer w(bad_dir);
    FAIL("expected H5Error");
  } catch (const H5Error& e) {
    CHECK(message_contains(e, bad_dir));
    CHECK(message_contains(e, "cannot create HDF5 file"));
  }
}

TEST_CASE("a SIGKILLed writer leaves a file with every finished round") {
  TmpPath tmp("killed");
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: write 5 rounds, then a table-buffer's worth of rows that reach the file without a
    // flush (an interrupted next round), signal the parent and wait to be killed.
    ::close(fds[0]);
    int status = 1;
    try {
      H5Writer w(tmp.str());
      w.set_meta("seed", std::int64_t{1234});
      w.set_meta("scenario_toml", std::string(100000, 'x'));
      auto& blocks = w.table("/ledger/blocks", kBlockColumns);
      for (int r = 0; r < 5; ++r) {
        for (int k = 0; k < 3; ++k) blocks.append(block_row(3 * r + k));
        w.on_round(round_of(r));
      }
      for (std::size_t k = 0; k < H5Writer::kTableBufferRows; ++k) blocks.append(block_row(99));
      w.set_meta("unflushed", std::int64_t{1});
      const char byte = 'k';
      if (::write(fds[1], &byte, 1) == 1) ::pause();
    } catch (...) {
      status = 2;
    }
    ::_exit(status);
  }
  ::close(fds[1]);
  char byte = 0;
  const ssize_t got = ::read(fds[0], &byte, 1);
  ::close(fds[0]);
  ::kill(pid, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(got == 1);  // the child reached the point after round 5
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  H5Reader r(tmp.str());
  REQUIRE(r.rounds() == 5);
  CHECK(r.meta_int("seed") == 1234);
  CHECK(r.meta_string("scenario_toml") == std::string(100000, 'x'));
  const auto acc = r.round_column("test_accuracy");
  const auto part = r.round_column_int("participants");
  REQUIRE(acc.size() == 5);
  REQUIRE(part.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(acc[i] == 0.5 + 0.01 * i);
    CHECK(part[i] == 10 + i);
  }
  CHECK(r.timing_wall_s().size() == 5);
  // 4096 more rows reached the file (a full table buffer) but no commit: readers ignore them.
  check_block_rows(r.table_rows("/ledger/blocks"), 15);
  CHECK(r.table_size("/ledger/blocks") == 15);
  const auto rep = ledgerfl::metrics::verify_integrity(tmp.str());
  CHECK(rep.status == ledgerfl::metrics::IntegrityReport::Status::kOk);
  CHECK(rep.rounds == 5);
}

TEST_CASE("writers of different files work in parallel threads") {
  TmpPath a("thread_a"), b("thread_b");
  auto write = [](const std::string& path, int offset) {
    H5Writer w(path);
    auto& t = w.table("/ledger/blocks", kBlockColumns);
    for (int r = 0; r < 200; ++r) {
      t.append(block_row(r));
      RoundSummary s;
      s.add("x", static_cast<double>(r + offset));
      w.on_round(s);
    }
  };
  std::thread ta(write, a.str(), 0), tb(write, b.str(), 1000);
  ta.join();
  tb.join();
  for (const auto& [path, offset] : {std::pair{a.str(), 0}, std::pair{b.str(), 1000}}) {
    H5Reader r(path);
    const auto x = r.round_column("x");
    REQUIRE(x.size() == 200);
    bool ok = true;
    for (int i = 0; i < 200; ++i) ok = ok && x[i] == static_cast<double>(i + offset);
    CHECK(ok);
    check_block_rows(r.table_rows("/ledger/blocks"), 200);
  }
}
