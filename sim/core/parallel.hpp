// core::parallel_for: the one way our code runs a loop on the TBB pool (fork/join, visible to
// TSan).
//
// Every parallel phase of the simulator (STYLE.md rule 3) is a loop whose iterations write only
// their own slot and read state the calling thread wrote before the loop. Running it through
// these wrappers instead of tbb::parallel_for directly gives two things:
//
//  * a fixed decomposition: tbb::simple_partitioner, so the set of index ranges the bodies see
//    never depends on the number of threads or on work stealing (parallel_for_chunks fixes the
//    chunk boundaries exactly: chunk c is [c * chunk, min(n, (c + 1) * chunk)));
//  * in a ThreadSanitizer build, the happens-before edges TBB guarantees, made visible. Debian's
//    libtbb is not instrumented, so a worker that stayed in the arena between two loops has no
//    edge TSan can see to what the caller wrote in between (the ~250 false reports of the fl
//    tests). Each call owns two sync objects: the caller releases `start` before the loop and
//    every task acquires it before running its range (caller -> bodies); every task releases
//    `done` after its range and the caller acquires it after the join (bodies -> caller). Tasks
//    never acquire `done`, so two bodies of one loop stay unordered and a race between them is
//    still reported (tests/core/tsan_planted_race.cpp, modes core_race / core_clean).
//
// Semantics: body(i) runs exactly once for every i in [0, n), in unspecified order and on
// unspecified threads, possibly concurrently; the call returns after all of them finished.
// Everything the caller wrote before the call happens-before every body; everything a body
// wrote happens-before the return. An exception thrown by a body cancels the remaining ones
// and is rethrown by the call (TBB semantics). n = 0 runs nothing. Nested calls are allowed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#if defined(__SANITIZE_THREAD__)
#define LEDGERFL_PARALLEL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LEDGERFL_PARALLEL_TSAN 1
#endif
#endif

#if defined(LEDGERFL_PARALLEL_TSAN)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace ledgerfl::core {

namespace detail {

// The per-call synchronisation objects (only their addresses matter to TSan). Empty hooks in a
// normal build: the optimiser removes them.
struct ForkJoinSync {
#if defined(LEDGERFL_PARALLEL_TSAN)
  char start = 0;
  char done = 0;
  void fork() {
    __tsan_release(&start);
  }  // caller, before the loop
  void task_begin() {
    __tsan_acquire(&start);
  }  // a task, before its range
  void task_end() {
    __tsan_release(&done);
  }  // a task, after its range
  void join() {
    __tsan_acquire(&done);
  }  // caller, after the loop returned
#else
  void fork() {}
  void task_begin() {}
  void task_end() {}
  void join() {}
#endif
};

// Runs range_body(lo, hi) over [0, count) split by simple_partitioner down to `grain` indices.
template <class RangeBody>
void fork_join(std::size_t count, std::size_t grain, RangeBody& range_body) {
  if (count == 0) return;
  ForkJoinSync sync;
  sync.fork();
  struct Join {  // runs on normal return and when a body's exception propagates
    ForkJoinSync& s;
    ~Join() { s.join(); }
  } join{sync};
  tbb::parallel_for(
      tbb::blocked_range<std::size_t>(0, count, grain),
      [&sync, &range_body](const tbb::blocked_range<std::size_t>& r) {
        sync.task_begin();
        struct End {
          ForkJoinSync& s;
          ~End() { s.task_end(); }
        } end{sync};
        range_body(r.begin(), r.end());
      },
      tbb::simple_partitioner());
}

}  // namespace detail

// body(i) for every i in [0, n); one task per index (grain 1), for coarse bodies such as one
// client's local training or one evaluation chunk.
template <class F>
void parallel_for(std::size_t n, F&& body) {
  auto range_body = [&body](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) body(i);
  };
  detail::fork_join(n, 1, range_body);
}

// body(lo, hi) for the chunks [c * chunk, min(n, (c + 1) * chunk)), c = 0 .. ceil(n / chunk) - 1:
// for fine-grained loops (a coordinate sweep of a model vector) whose bodies want a fixed,
// bounded block, e.g. an accumulator array of `chunk` entries. The boundaries depend on n and
// chunk only. chunk = 0 is treated as 1.
template <class F>
void parallel_for_chunks(std::size_t n, std::size_t chunk, F&& body) {
  chunk = std::max<std::size_t>(chunk, 1);
  const std::size_t chunks = n / chunk + (n % chunk != 0 ? 1 : 0);
  auto range_body = [&body, n, chunk](std::size_t lo, std::size_t hi) {
    for (std::size_t c = lo; c < hi; ++c) body(c * chunk, std::min(n, (c + 1) * chunk));
  };
  detail::fork_join(chunks, 1, range_body);
}

}  // namespace ledgerfl::core
