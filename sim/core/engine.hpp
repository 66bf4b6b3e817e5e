// The discrete-event engine: an event queue ordered by (time, phase, insertion sequence).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "sim/core/time.hpp"

namespace ledgerfl::core {

// Handle to a scheduled event, for cancellation. Default-constructed = no event.
struct EventId {
  std::uint32_t slot = 0;
  std::uint64_t seq = 0;  // 0 = invalid; sequences start at 1
  bool valid() const { return seq != 0; }
};

// Events at the same instant run by ascending phase, then by insertion order. Phases make the
// order of *different kinds* of events at one instant explicit (STYLE.md rule 2). 0..255.
using Phase = std::uint8_t;

struct EventInfo {
  SimTime time;
  Phase phase;
  std::uint64_t seq;
};

// A move-only `void()` callable with 40 bytes of inline storage. Unlike std::function (16 bytes
// inline in libstdc++), a lambda capturing a pointer and a few ids lives inside the engine's event
// slot, so a message in flight costs one cache line, not a slot plus a heap block or side table.
// Larger callables, or ones whose move may throw, go to the heap.
class EventFn {
 public:
  static constexpr std::size_t kInline = 40;

  EventFn() = default;
  EventFn(std::nullptr_t) {}
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, EventFn> &&
           !std::is_same_v<std::remove_cvref_t<F>, std::nullptr_t> &&
           std::is_invocable_v<std::decay_t<F>&>)
      EventFn(F&& f) {  // NOLINT: implicit, like std::function
    using D = std::decay_t<F>;
    if constexpr (sizeof(D) <= kInline && alignof(D) <= 8 &&
                  std::is_nothrow_move_constructible_v<D>) {
      ::new (static_cast<void*>(buf_)) D(std::forward<F>(f));
      invoke_ = [](void* p) { (*static_cast<D*>(p))(); };
      if constexpr (!std::is_trivially_copyable_v<D>)
        manage_ = [](void* dst, void* src) {
          if (dst) ::new (dst) D(std::move(*static_cast<D*>(src)));
          static_cast<D*>(src)->~D();
        };
    } else {
      D* heap = new D(std::forward<F>(f));
      std::memcpy(buf_, &heap, sizeof heap);
      invoke_ = [](void* p) { (**static_cast<D**>(p))(); };
      manage_ = [](void* dst, void* src) {
        if (dst)
          std::memcpy(dst, src, sizeof(D*));
        else
          delete *static_cast<D**>(src);
      };
    }
  }
  EventFn(EventFn&& o) noexcept { take(o); }
  EventFn& operator=(EventFn&& o) noexcept {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }
  EventFn& operator=(std::nullptr_t) {
    reset();
    return *this;
  }
  EventFn(const EventFn&) = delete;
  EventFn& operator=(const EventFn&) = delete;
  ~EventFn() { reset(); }

  explicit operator bool() const { return invoke_ != nullptr; }
  void operator()() { invoke_(buf_); }

 private:
  using Invoke = void (*)(void*);
  using Manage = void (*)(void* dst, void* src);  // move src into dst (if any), destroy src

  void take(EventFn& o) noexcept {
    invoke_ = o.invoke_;
    manage_ = o.manage_;
    if (manage_)
      manage_(buf_, o.buf_);
    else if (invoke_)
      std::memcpy(buf_, o.buf_, kInline);
    o.invoke_ = nullptr;
    o.manage_ = nullptr;
  }
  void reset() noexcept {
    if (manage_) manage_(nullptr, buf_);
    invoke_ = nullptr;
    manage_ = nullptr;
  }

  Invoke invoke_ = nullptr;
  Manage manage_ = nullptr;
  alignas(8) unsigned char buf_[kInline];
};

// The engine is an object passed by reference; there is no global simulator. Not thread-safe:
// events run on one thread (the parallel work happens inside an event, see DESIGN.md).
class Engine {
 public:
  using Callback = EventFn;

  Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  SimTime now() const { return now_; }

  // Schedule at an absolute time (>= now(), asserted: time never goes backwards).
  EventId schedule_at(SimTime t, Callback fn, Phase phase = 0);
  EventId schedule_in(SimTime dt, Callback fn, Phase phase = 0) {
    return schedule_at(now_ + dt, std::move(fn), phase);
  }
  // Marks the event cancelled; the loop skips it. Returns false if it already ran, was already
  // cancelled, or the handle is invalid.
  bool cancel(EventId id);

  // Runs the next event; returns false when the queue is empty.
  bool step();
  // Runs until the queue is empty or stop() is called from an event.
  void run();
  // Runs every event with time <= t, then advances now() to t (unless stopped earlier).
  void run_until(SimTime t);
  // Asks the running loop to return after the current event.
  void stop() { stop_requested_ = true; }

  std::size_t pending() const { return live_; }
  std::uint64_t processed() const { return processed_; }

  // Per-event hook, off by default (tracing, animation). Called before each event runs.
  void set_event_hook(std::function<void(const EventInfo&)> hook) { hook_ = std::move(hook); }

 private:
  // Events are ordered by (time, order); order = phase << 56 | seq is unique, so the order is
  // total and the run is the same whatever the queue's internal layout.
  struct Key {
    std::uint64_t time;   // ns, >= 0
    std::uint64_t order;  // phase << 56 | seq
    std::uint32_t slot;
  };
  // One cache line per pending event: the callable (with its captured payload) and its seq.
  // A cancelled event keeps its seq and queue key but has an empty callable.
  struct alignas(64) Slot {
    Callback fn;
    std::uint64_t seq = 0;  // seq of the event occupying the slot; 0 = free
  };
  static_assert(sizeof(Slot) == 64);
  // The queue is a radix heap (Ahuja, Mehlhorn, Orlin & Tarjan 1990, "Faster algorithms for
  // the shortest path problem", JACM 37(2)), which fits a discrete-event simulation because time
  // is monotone: every queued time is >= last_, the time of the last minimum taken out. Bucket b
  // >= 1 holds the keys whose time differs from last_ first in bit b - 1; bucket 0 holds the
  // keys at exactly last_, as a binary heap on `order`. A push appends to a vector; a pop that
  // finds bucket 0 empty redistributes the lowest non-empty bucket around its minimum, and each
  // key only ever moves to lower buckets. That is sequential memory traffic instead of a binary
  // heap's dependent cache misses, which dominate with 10^5 pending messages.
  static constexpr int kBuckets = 65;
  static int bucket_of(std::uint64_t t, std::uint64_t last) {
    return t == last ? 0 : 64 - __builtin_clzll(t ^ last);
  }
  void push_key(const Key& k);
  void rebase(std::uint64_t t);
  // The next live event's key (cancelled ones are dropped on the way), or nullptr when empty.
  const Key* peek();
  // Removes and returns the minimum of bucket 0 (non-empty: call peek() first).
  Key pop_min();
  void release_slot(std::uint32_t slot);

  SimTime now_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t processed_ = 0;
  std::size_t live_ = 0;
  bool stop_requested_ = false;
  std::vector<Key> buckets_[kBuckets];
  std::uint64_t last_ = 0;  // see above
  std::size_t queued_ = 0;  // keys in all buckets, cancelled ones included
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::function<void(const EventInfo&)> hook_;
};

}  // namespace ledgerfl::core
