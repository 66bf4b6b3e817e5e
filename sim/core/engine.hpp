// The discrete-event engine: an event queue ordered by (time, phase, insertion sequence).
#pragma once

#include <cstdint>
#include <functional>
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

// The engine is an object passed by reference; there is no global simulator. Not thread-safe:
// events run on one thread (the parallel work happens inside an event, see DESIGN.md).
class Engine {
 public:
  using Callback = std::function<void()>;

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
  struct Key {
    std::int64_t time;
    std::uint64_t order;  // phase << 56 | seq
    std::uint32_t slot;
    // Strict order of events: earlier time first, then lower (phase, seq).
    bool before(const Key& o) const { return time != o.time ? time < o.time : order < o.order; }
  };
  struct Slot {
    Callback fn;
    std::uint64_t seq = 0;  // seq of the event occupying the slot; 0 = free
    bool cancelled = false;
  };
  bool pop_next(Key& out);
  void drop_cancelled_top();
  void sift_up(std::size_t i);
  void sift_down(std::size_t i);

  SimTime now_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t processed_ = 0;
  std::size_t live_ = 0;
  bool stop_requested_ = false;
  std::vector<Key> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::function<void(const EventInfo&)> hook_;
};

}  // namespace ledgerfl::core
