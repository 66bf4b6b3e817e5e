// A deliberate data race for the TSan build: proves the TBB suppressions (tests/tsan.supp) do not
// hide races in our code. `tsan_planted_race race` increments a plain counter from
// tbb::parallel_for tasks (and from a std::thread); `tsan_planted_race clean` does the same
// work with an atomic and must stay silent. CTest expects a report naming planted_increment.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

namespace {

long counter = 0;  // the raced-on variable
std::atomic<long> safe_counter{0};

__attribute__((noinline)) void planted_increment() {
  counter = counter + 1;
}
__attribute__((noinline)) void safe_increment() {
  safe_counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

int main(int argc, char** argv) {
  const bool race = argc > 1 && std::strcmp(argv[1], "race") == 0;
  void (*inc)() = race ? planted_increment : safe_increment;
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, 4);
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
