// Tests of core::parallel_for / parallel_for_chunks: coverage, fixed chunk boundaries, results
// independent of the thread count, exceptions, nesting. (Run under TSan too: label "tsan".)
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include <tbb/task_arena.h>

#include "sim/core/parallel.hpp"
#include "sim/core/rng.hpp"

using ledgerfl::core::parallel_for;
using ledgerfl::core::parallel_for_chunks;

TEST_CASE("parallel_for runs every index exactly once") {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
    std::vector<std::atomic<int>> hits(n);
    parallel_for(n, [&](std::size_t i) { hits[i].fetch_add(1); });
    for (std::size_t i = 0; i < n; ++i) CHECK(hits[i].load() == 1);
  }
}

TEST_CASE("parallel_for_chunks covers [0, n) with the fixed chunk boundaries") {
  struct Case {
    std::size_t n, chunk;
  };
  for (Case c : {Case{0, 4}, Case{1, 4}, Case{8, 4}, Case{10, 4}, Case{10, 0}, Case{5, 100}}) {
    const std::size_t chunk = c.chunk == 0 ? 1 : c.chunk;
    const std::size_t chunks = (c.n + chunk - 1) / chunk;
    std::vector<std::pair<std::size_t, std::size_t>> seen(chunks, {1, 0});
    std::vector<std::atomic<int>> hits(c.n);
    parallel_for_chunks(c.n, c.chunk, [&](std::size_t lo, std::size_t hi) {
      REQUIRE(lo % chunk == 0);
      seen[lo / chunk] = {lo, hi};
      for (std::size_t i = lo; i < hi; ++i) hits[i].fetch_add(1);
    });
    for (std::size_t k = 0; k < chunks; ++k) {
      CHECK(seen[k].first == k * chunk);
      CHECK(seen[k].second == std::min(c.n, (k + 1) * chunk));
    }
    for (std::size_t i = 0; i < c.n; ++i) CHECK(hits[i].load() == 1);
  }
}

TEST_CASE("a slot-per-index loop gives bit-identical results on 1 and 2 threads") {
  // The shape of a training phase: each index draws from its own keyed stream and writes its
  // own slot; the caller then reduces in index order.
  auto run_in = [](int threads) {
    std::vector<double> slots(257);
    tbb::task_arena arena(threads);
    arena.execute([&] {
      parallel_for(slots.size(), [&](std::size_t i) {
        ledgerfl::core::Rng rng(7, "parallel_test", i, 0);
        double s = 0;
        for (int k = 0; k < 100; ++k) s += rng.normal();
        slots[i] = s;
      });
    });
    double total = 0;
    for (double s : slots) total += s;
    return std::make_pair(slots, total);
  };
  const auto one = run_in(1);
  const auto two = run_in(2);
  CHECK(one.first == two.first);
  CHECK(one.second == two.second);
}

TEST_CASE("a body's exception is rethrown by the call") {
  std::atomic<int> ran{0};
  CHECK_THROWS_AS(parallel_for(100,
                               [&](std::size_t i) {
                                 ran.fetch_add(1);
                                 if (i == 42) throw std::runtime_error("body 42");
                               }),
                  std::runtime_error);
  CHECK(ran.load() >= 1);
  // The pool is usable afterwards.
  std::atomic<int> after{0};
  parallel_for(10, [&](std::size_t) { after.fetch_add(1); });
  CHECK(after.load() == 10);
}

TEST_CASE("nested calls run every inner index once per outer index") {
  std::vector<std::vector<int>> grid(8, std::vector<int>(16, 0));
  parallel_for(grid.size(), [&](std::size_t i) {
    parallel_for(grid[i].size(), [&](std::size_t j) { grid[i][j] += static_cast<int>(i + j); });
  });
  for (std::size_t i = 0; i < grid.size(); ++i)
    for (std::size_t j = 0; j < grid[i].size(); ++j) CHECK(grid[i][j] == static_cast<int>(i + j));
}

TEST_CASE("writes of the caller between two loops are seen by the second loop's bodies") {
  // The pattern TSan could not see through Debian's libtbb (a worker that stays in the arena
  // between two phases): phase 1 writes slots, the caller rewrites an input, phase 2 reads it.
  std::vector<std::int64_t> input(64), out(64);
  for (int round = 0; round < 20; ++round) {
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = round * 1000 + static_cast<int>(i);
    parallel_for(input.size(), [&](std::size_t i) { out[i] = input[i] * 2; });
    for (std::size_t i = 0; i < input.size(); ++i)
      REQUIRE(out[i] == 2 * (round * 1000 + static_cast<std::int64_t>(i)));
  }
}
