// The discrete-event engine: a radix heap of (time, phase, seq) keys over a slab of event slots.
#include "sim/core/engine.hpp"

#include <algorithm>
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
// Bucket 0 is a min-heap on order; the std heap functions build max-heaps, hence "later".
constexpr auto later = [](const auto& a, const auto& b) { return a.order > b.order; };
}  // namespace

Engine::Engine() {
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
  push_key(
      {static_cast<std::uint64_t>(t.count_ns()), (std::uint64_t{phase} << kSeqBits) | seq, slot});
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

void Engine::push_key(const Key& k) {
  if (k.time < last_) rebase(k.time);
  auto& b = buckets_[bucket_of(k.time, last_)];
  b.push_back(k);
  if (&b == &buckets_[0]) std::push_heap(b.begin(), b.end(), later);
  ++queued_;
}

// A peek (run_until) may have moved last_ past now(); an event scheduled in between needs the
// buckets rebuilt around its time. Rare: at most once per run_until horizon.
void Engine::rebase(std::uint64_t t) {
  std::vector<Key> all;
  all.reserve(queued_);
  for (auto& b : buckets_) {
    all.insert(all.end(), b.begin(), b.end());
    b.clear();
  }
  last_ = t;
  for (const Key& k : all) buckets_[bucket_of(k.time, last_)].push_back(k);
  std::make_heap(buckets_[0].begin(), buckets_[0].end(), later);
}

const Engine::Key* Engine::peek() {
  for (;;) {
    auto& b0 = buckets_[0];
    if (b0.empty()) {
      if (queued_ == 0) return nullptr;
      int i = 1;
      while (buckets_[i].empty()) ++i;
      auto& b = buckets_[i];
      std::uint64_t m = b.front().time;
      for (const Key& k : b) m = k.time < m ? k.time : m;
      last_ = m;
      for (const Key& k : b) buckets_[bucket_of(k.time, m)].push_back(k);  // all below i
      // Bucket i held exactly the next events to run (unless earlier ones are scheduled):
      // start loading their slots, the one cache miss left per event.
      if (b.size() <= 64)
        for (const Key& k : b) __builtin_prefetch(&slots_[k.slot]);
      b.clear();
      std::make_heap(b0.begin(), b0.end(), later);
    }
    if (slots_[b0.front().slot].fn) return &b0.front();
    release_slot(pop_min().slot);  // cancelled: drop it and free its slot
  }
}

Engine::Key Engine::pop_min() {
  auto& b0 = buckets_[0];
  std::pop_heap(b0.begin(), b0.end(), later);
  const Key k = b0.back();
  b0.pop_back();
  --queued_;
  return k;
}

void Engine::release_slot(std::uint32_t slot) {
  slots_[slot].seq = 0;
  free_slots_.push_back(slot);
}

bool Engine::step() {
  if (!peek()) return false;
  const Key k = pop_min();
  Callback fn = std::move(slots_[k.slot].fn);  // leaves the slot's callable empty
  release_slot(k.slot);
  --live_;
  now_ = SimTime::ns(static_cast<std::int64_t>(k.time));
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
    const Key* top = peek();
    if (!top || top->time > static_cast<std::uint64_t>(t.count_ns())) break;
    step();
  }
  if (!stop_requested_) now_ = t;
}

}  // namespace ledgerfl::core
