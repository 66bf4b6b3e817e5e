// The discrete-event engine: a 4-ary min-heap of (time, phase, seq) keys over a slab of callbacks.
#include "sim/core/engine.hpp"

#include <cstdio>
#include <cstdlib>

namespace ledgerfl::core {

namespace {
[[noreturn]] void engine_bug(const char* what, SimTime now, SimTime t) {
  std::fprintf(stderr, "ledgerfl engine: %s (now = %lld ns, requested = %lld ns)\n", what,
               static_cast<long long>(now.count_ns()), static_cast<long long>(t.count_ns()));
  std::abort();
}
constexpr std::uint64_t kSeqBits = 56;
constexpr std::size_t kArity = 4;  // 4-ary heap: shallower, cache-friendlier than binary
}  // namespace

Engine::Engine() {
  heap_.reserve(1024);
  slots_.reserve(1024);
}

EventId Engine::schedule_at(SimTime t, Callback fn, Phase phase) {
  if (t < now_) engine_bug("event scheduled in the past: time never goes backwards", now_, t);
  if (!fn) engine_bug("event scheduled without a callable", now_, t);
  const std::uint64_t seq = next_seq_++;
  if (seq >> kSeqBits) engine_bug("event sequence overflow", now_, t);
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  ::new (static_cast<void*>(&s.fn)) Callback(std::move(fn));  // the slot's fn is empty: no read
  s.seq = seq;
  heap_.push_back({t.count_ns(), (std::uint64_t{phase} << kSeqBits) | seq, slot});
  sift_up(heap_.size() - 1);
  ++live_;
  return {slot, seq};
}

bool Engine::cancel(EventId id) {
  if (!id.valid() || id.slot >= slots_.size()) return false;
  Slot& s = slots_[id.slot];
  if (s.seq != id.seq || !s.fn) return false;
  s.fn = nullptr;  // release captures now; the empty callable marks the event cancelled
  --live_;
  return true;
}

void Engine::sift_up(std::size_t i) {
  const Key k = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / kArity;
    if (!k.before(heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = k;
}

void Engine::sift_down(std::size_t i) {
  const std::size_t n = heap_.size();
  const Key k = heap_[i];
  for (;;) {
    const std::size_t first = i * kArity + 1;
    if (first >= n) break;
    std::size_t best = first;
    const std::size_t last = first + kArity < n ? first + kArity : n;
    for (std::size_t c = first + 1; c < last; ++c)
      if (heap_[c].before(heap_[best])) best = c;
    if (!heap_[best].before(k)) break;
    heap_[i] = heap_[best];
    i = best;
  }
  heap_[i] = k;
}

void Engine::drop_cancelled_top() {
  while (!heap_.empty() && !slots_[heap_.front().slot].fn) {
    const std::uint32_t slot = heap_.front().slot;
    heap_.front() = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0);
    slots_[slot].seq = 0;
    free_slots_.push_back(slot);
  }
}

bool Engine::pop_next(Key& out) {
  drop_cancelled_top();
  if (heap_.empty()) return false;
  out = heap_.front();
  heap_.front() = heap_.back();
  heap_.pop_back();
  if (!heap_.empty()) sift_down(0);
  return true;
}

bool Engine::step() {
  Key k;
  if (!pop_next(k)) return false;
  Slot& s = slots_[k.slot];
  Callback fn = std::move(s.fn);
  s.fn = nullptr;
  s.seq = 0;
  free_slots_.push_back(k.slot);
  --live_;
  now_ = SimTime::ns(k.time);
  ++processed_;
  if (hook_)
    hook_({now_, static_cast<Phase>(k.order >> kSeqBits), k.order & ((1ULL << kSeqBits) - 1)});
  fn();
  return true;
}

void Engine::run() {
  stop_requested_ = false;
  while (!stop_requested_ && step()) {
  }
}

void Engine::run_until(SimTime t) {
  if (t < now_) engine_bug("run_until a time in the past", now_, t);
  stop_requested_ = false;
  while (!stop_requested_) {
    drop_cancelled_top();
    if (heap_.empty() || heap_.front().time > t.count_ns()) break;
    step();
  }
  if (!stop_requested_) now_ = t;
}

}  // namespace ledgerfl::core
