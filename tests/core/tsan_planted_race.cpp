// A deliberate data race for the TSan build: proves neither the TBB suppressions (tests/tsan.supp)
// nor core::parallel_for's happens-before annotations hide races in our code. Modes:
//   race        a plain counter incremented from tbb::parallel_for tasks and a std::thread
//   clean       the same work with an atomic: must stay silent
//   core_race   two bodies of one core::parallel_for write one plain variable (planted_in_body)
//   core_clean  the fl round pattern through core::parallel_for: the caller rewrites inputs
//               between phases, bodies read them and write their own slots, the caller reads
//               the slots: must stay silent (this is what raw tbb::parallel_for reported as
//               ~250 false races in the fl tests)
//   tbb_phases  core_clean's pattern through raw tbb::parallel_for, for comparison (not a CTest:
//               whether TSan reports depends on whether workers stay in the arena)
// CTest expects a report naming planted_increment / planted_in_body in the race modes.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include "sim/core/parallel.hpp"

namespace {

long counter = 0;  // the raced-on variable
std::atomic<long> safe_counter{0};
long body_shared = 0;  // raced on by core_race

__attribute__((noinline)) void planted_increment() {
  counter = counter + 1;
}
__attribute__((noinline)) void safe_increment() {
  safe_counter.fetch_add(1, std::memory_order_relaxed);
}
__attribute__((noinline)) void planted_in_body(long v) {
  body_shared = body_shared + v;
}

int tbb_mode(bool race) {
  void (*inc)() = race ? planted_increment : safe_increment;
  // The shape of our parallel phases: a body captured by reference, one slot per task, plus
  // (in `race` mode) a shared write nobody synchronises.
  std::vector<long> slots(64, 0);
  tbb::parallel_for(0, 64, [&](int i) {
    slots[i] = i * 2;
    for (int k = 0; k < 1000; ++k) inc();
  });
  std::thread t([&] {
    for (int k = 0; k < 1000; ++k) inc();
  });
  for (int k = 0; k < 1000; ++k) inc();
  t.join();
  long sum = 0;
  for (long s : slots) sum += s;
  std::printf("slots %ld, counter %ld\n", sum, race ? counter : safe_counter.load());
  return 0;
}

template <class For, class Chunks>
int phases(bool race, For&& for_each, Chunks&& for_chunks) {
  // Phases of a round: the caller writes the inputs, bodies read them and write their slots,
  // the caller reads every slot; repeated so workers stay in the arena between phases.
  std::vector<long> input(64), slots(64);
  long total = 0;
  for (int round = 0; round < 50; ++round) {
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = round + static_cast<long>(i);
    for_each(input.size(), [&](std::size_t i) {
      long s = 0;
      for (int k = 0; k < 200; ++k) s += input[(i + k) % input.size()];
      slots[i] = s;
      if (race) planted_in_body(s);  // every body writes the same variable
    });
    for_chunks(input.size(), 16, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) slots[i] += input[i];
    });
    for (long s : slots) total += s;
  }
  std::printf("total %ld, shared %ld\n", total, body_shared);
  return 0;
}

int core_mode(bool race) {
  return phases(
      race, [](std::size_t n, auto&& f) { ledgerfl::core::parallel_for(n, f); },
      [](std::size_t n, std::size_t c, auto&& f) { ledgerfl::core::parallel_for_chunks(n, c, f); });
}

int raw_tbb_mode() {
  return phases(
      false, [](std::size_t n, auto&& f) { tbb::parallel_for(std::size_t{0}, n, f); },
      [](std::size_t n, std::size_t c, auto&& f) {
        tbb::parallel_for(std::size_t{0}, n / c, [&](std::size_t k) { f(k * c, (k + 1) * c); });
      });
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, 4);
  if (std::strcmp(mode, "race") == 0) return tbb_mode(true);
  if (std::strcmp(mode, "clean") == 0) return tbb_mode(false);
  if (std::strcmp(mode, "core_race") == 0) return core_mode(true);
  if (std::strcmp(mode, "core_clean") == 0) return core_mode(false);
  if (std::strcmp(mode, "tbb_phases") == 0) return raw_tbb_mode();
  std::fprintf(stderr, "usage: tsan_planted_race race|clean|core_race|core_clean|tbb_phases\n");
  return 2;
}
