// TSan builds only: makes the synchronisation of Debian's uninstrumented libtbb visible to
// ThreadSanitizer, so that TSan reports races in our code instead of TBB's own handoffs.
// libtbb's scheduler hands work to workers and back through atomics compiled without
// -fsanitize=thread; TSan then sees no happens-before edge between
//   (a) the thread that starts a parallel algorithm and the workers that run its tasks, and
//   (b) the workers' writes and the caller's reads after the algorithm returns.
// This file, linked into every test executable of a TSan build, defines the two libtbb entry
// points that a parallel_for / parallel_reduce / task_group uses to run and wait
// (tbb::detail::r1::execute_and_wait and r1::wait; calls from our executables bind to these
// definitions first) and forwards to libtbb's own, adding: a release before the work starts, and
// an acquire after the wait returns. Workers acquire when they enter the arena (a
// task_scheduler_observer) and release when they leave it and after each wait. This models
// exactly what TBB guarantees (start -> task bodies -> return) and no more: two task bodies of
// one algorithm are not ordered against each other, so a race between them is still reported
// (tests/core/tsan_planted_race.cpp proves it).
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include <tbb/task_scheduler_observer.h>

extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);

namespace tbb::detail {
namespace d1 {
class task;
class task_group_context;
class wait_context;
}  // namespace d1

namespace r1 {

namespace {
char g_tbb_sync;  // the one synchronisation object standing for TBB's invisible handoffs

template <class F>
F real(const char* mangled) {
  void* p = dlsym(RTLD_NEXT, mangled);
  if (!p) {
    std::fprintf(stderr, "tsan_tbb_sync: %s not found in libtbb\n", mangled);
    std::abort();
  }
  return reinterpret_cast<F>(p);
}

// Workers entering the arena see everything released before; leaving, they publish their work.
class SyncObserver : public tbb::task_scheduler_observer {
 public:
  SyncObserver() { observe(true); }
  void on_scheduler_entry(bool) override { __tsan_acquire(&g_tbb_sync); }
  void on_scheduler_exit(bool) override { __tsan_release(&g_tbb_sync); }
};
// The last task of an algorithm signals completion with an instrumented fetch_sub (release) on
// wait_context::m_ref_count (oneapi/tbb/detail/_task.h, oneTBB 2021.8: the std::atomic right
// after the 8-byte m_version_and_traits); the waiting thread's matching acquire load happens
// inside libtbb, invisible. Acquire it here, plus the observer's object.
void acquire_wait(d1::wait_context& w) {
  __tsan_acquire(reinterpret_cast<char*>(&w) + 8);
  __tsan_acquire(&g_tbb_sync);
}
}  // namespace

void execute_and_wait(d1::task& t, d1::task_group_context& t_ctx, d1::wait_context& wait_ctx,
                      d1::task_group_context& w_ctx) {
  using Fn =
      void (*)(d1::task&, d1::task_group_context&, d1::wait_context&, d1::task_group_context&);
  static const Fn fn = real<Fn>(
      "_ZN3tbb6detail2r116execute_and_waitERNS0_2d14taskERNS2_18task_group_contextERNS2_12wait_"
      "contextES6_");
  static SyncObserver observer;  // created on first use, once the scheduler exists
  __tsan_release(&g_tbb_sync);
  fn(t, t_ctx, wait_ctx, w_ctx);
  acquire_wait(wait_ctx);
}

void wait(d1::wait_context& wait_ctx, d1::task_group_context& ctx) {
  using Fn = void (*)(d1::wait_context&, d1::task_group_context&);
  static const Fn fn =
      real<Fn>("_ZN3tbb6detail2r14waitERNS0_2d112wait_contextERNS2_18task_group_contextE");
  __tsan_release(&g_tbb_sync);
  fn(wait_ctx, ctx);
  acquire_wait(wait_ctx);
}

}  // namespace r1
}  // namespace tbb::detail
