// Tests of the event engine: ordering by (time, phase, seq), ties, cancellation, run_until.
#include <doctest/doctest.h>

#include <array>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "sim/core/engine.hpp"
#include "sim/core/rng.hpp"

using namespace ledgerfl::core;

TEST_CASE("events run in time order, ties by phase then insertion") {
  Engine e;
  std::string log;
  e.schedule_at(SimTime::s(2), [&] { log += "c"; });
  e.schedule_at(
      SimTime::s(1), [&] { log += "b"; }, /*phase=*/1);
  e.schedule_at(
      SimTime::s(1), [&] { log += "a"; }, /*phase=*/0);
  e.schedule_at(
      SimTime::s(1), [&] { log += "B"; }, /*phase=*/1);
  e.schedule_at(SimTime::s(0), [&] { log += "0"; });
  e.run();
  CHECK(log == "0abBc");
  CHECK(e.now() == SimTime::s(2));
  CHECK(e.processed() == 5);
}

TEST_CASE("same-time events keep insertion order across many ties") {
  Engine e;
  std::vector<int> order;
  for (int i = 0; i < 1000; ++i) e.schedule_at(SimTime::ms(5), [&, i] { order.push_back(i); });
  e.run();
  REQUIRE(order.size() == 1000);
  for (int i = 0; i < 1000; ++i) CHECK(order[i] == i);
}

TEST_CASE("events scheduled from events, schedule_in is relative") {
  Engine e;
  std::vector<std::int64_t> times;
  std::function<void()> tick = [&] {
    times.push_back(e.now().count_ns());
    if (times.size() < 4) e.schedule_in(SimTime::ms(10), tick);
  };
  e.schedule_in(SimTime::ms(1), tick);
  e.run();
  CHECK(times == std::vector<std::int64_t>{1'000'000, 11'000'000, 21'000'000, 31'000'000});
}

TEST_CASE("cancellation skips the event and handles are not reused wrongly") {
  Engine e;
  int ran = 0;
  EventId a = e.schedule_at(SimTime::s(1), [&] { ran += 1; });
  EventId b = e.schedule_at(SimTime::s(2), [&] { ran += 10; });
  CHECK(e.pending() == 2);
  CHECK(e.cancel(a));
  CHECK_FALSE(e.cancel(a));  // twice
  CHECK(e.pending() == 1);
  e.run();
  CHECK(ran == 10);
  CHECK_FALSE(e.cancel(b));  // already ran
  CHECK_FALSE(e.cancel(EventId{}));
  // Both freed slots are reused by new events: the stale handles must not cancel them.
  EventId c = e.schedule_at(SimTime::s(3), [&] { ran += 100; });
  EventId d = e.schedule_at(SimTime::s(4), [&] { ran += 1000; });
  CHECK(((c.slot == a.slot && d.slot == b.slot) || (c.slot == b.slot && d.slot == a.slot)));
  CHECK_FALSE(e.cancel(a));
  CHECK_FALSE(e.cancel(b));
  e.run();
  CHECK(ran == 1110);
}

TEST_CASE("EventFn: inline and heap callables run once, move, and release their captures") {
  auto token = std::make_shared<int>(7);
  int sum = 0;
  {
    // Small, non-trivial capture (a shared_ptr) is stored inline and destroyed exactly once.
    EventFn a([token, &sum] { sum += *token; });
    CHECK(token.use_count() == 2);
    EventFn b(std::move(a));
    CHECK_FALSE(a);
    CHECK(b);
    CHECK(token.use_count() == 2);
    b();
    CHECK(sum == 7);
    // Large capture (> kInline bytes) goes to the heap; moving keeps one live copy.
    std::array<std::uint64_t, 8> big{1, 2, 3, 4, 5, 6, 7, 8};
    static_assert(sizeof(big) > EventFn::kInline);
    EventFn c([big, token, &sum] {
      for (auto x : big) sum += static_cast<int>(x);
    });
    CHECK(token.use_count() == 3);
    EventFn d;
    d = std::move(c);
    CHECK(token.use_count() == 3);
    d();
    CHECK(sum == 7 + 36);
    d = nullptr;
    CHECK(token.use_count() == 2);
  }
  CHECK(token.use_count() == 1);
  // A move-only capture works (std::function would reject it).
  auto owned = std::make_unique<int>(5);
  EventFn m([p = std::move(owned), &sum] { sum += *p; });
  m();
  CHECK(sum == 48);
}

TEST_CASE("the engine releases captures when an event runs or is cancelled") {
  auto token = std::make_shared<int>(0);
  Engine e;
  EventId a = e.schedule_at(SimTime::s(1), [token] { ++*token; });
  std::array<double, 16> pad{};  // forces the heap path
  EventId b =
      e.schedule_at(SimTime::s(2), [token, pad] { *token += 10 + static_cast<int>(pad[0]); });
  CHECK(token.use_count() == 3);
  CHECK(e.cancel(b));
  CHECK(token.use_count() == 2);
  e.run();
  CHECK(*token == 1);
  CHECK(token.use_count() == 1);
  CHECK_FALSE(e.cancel(a));
}

TEST_CASE("run_until stops at the horizon and advances the clock") {
  Engine e;
  int ran = 0;
  e.schedule_at(SimTime::s(1), [&] { ++ran; });
  e.schedule_at(SimTime::s(5), [&] { ++ran; });
  EventId x = e.schedule_at(SimTime::s(2), [&] { ran += 100; });
  e.cancel(x);
  e.run_until(SimTime::s(3));
  CHECK(ran == 1);
  CHECK(e.now() == SimTime::s(3));
  e.run_until(SimTime::s(5));  // inclusive
  CHECK(ran == 2);
  CHECK(e.pending() == 0);
}

TEST_CASE("stop() returns from run after the current event") {
  Engine e;
  int ran = 0;
  for (int i = 1; i <= 5; ++i)
    e.schedule_at(SimTime::s(i), [&, i] {
      ++ran;
      if (i == 2) e.stop();
    });
  e.run();
  CHECK(ran == 2);
  CHECK(e.pending() == 3);
  e.run();
  CHECK(ran == 5);
}

TEST_CASE("random hold model: each event is the minimum of the pending set") {
  // Reference model: a std::set of (time, phase, scheduling number) of every pending event.
  // Each time the engine runs an event, it must be the smallest element of that set; events
  // scheduled during an event at the same instant come after everything already pending.
  Engine e;
  Rng rng(7, "test", 0, 0);
  using Key = std::tuple<std::int64_t, int, int>;
  std::set<Key> pending;
  int next_id = 0, fired = 0;
  bool ok = true;
  std::function<void(Key)> fire = [&](Key k) {
    ok = ok && !pending.empty() && *pending.begin() == k;
    pending.erase(k);
    ++fired;
    for (int c = 0; c < 2 && next_id < 20000; ++c) {
      const int ph = static_cast<int>(rng.below(3));
      const auto dt = static_cast<std::int64_t>(rng.below(5));  // many ties
      // Lower phases scheduled at the current instant would run before already-pending
      // higher phases; keep them legal but put them in the set with their true key.
      const Key nk{e.now().count_ns() + dt, ph, next_id++};
      pending.insert(nk);
      e.schedule_in(
          SimTime::ns(dt), [&, nk] { fire(nk); }, static_cast<Phase>(ph));
    }
  };
  for (int i = 0; i < 10; ++i) {
    const Key k{0, 0, next_id++};
    pending.insert(k);
    e.schedule_at(SimTime::ns(0), [&, k] { fire(k); });
  }
  e.run();
  CHECK(ok);
  CHECK(fired == 20000);
  CHECK(pending.empty());
}

TEST_CASE("radix queue: wide time ranges, cancellations and run_until horizons keep exact order") {
  // The same reference model as above, with delays spread over 2^0..2^40 ns (every bucket of
  // the radix heap is used), random cancellations, and run_until horizons that stop short of the
  // next event and are followed by scheduling in between (the queue must rebuild around it).
  Engine e;
  Rng rng(11, "test.radix", 0, 0);
  using Key = std::tuple<std::int64_t, int, int>;
  std::set<Key> pending;
  std::vector<std::pair<Key, EventId>> handles;
  int next_id = 0, fired = 0, cancelled = 0;
  bool ok = true;
  std::function<void(Key)> fire;
  auto add = [&](std::int64_t dt) {
    const int ph = static_cast<int>(rng.below(3));
    const Key nk{e.now().count_ns() + dt, ph, next_id++};
    pending.insert(nk);
    handles.emplace_back(nk, e.schedule_in(
                                 SimTime::ns(dt), [&, nk] { fire(nk); }, static_cast<Phase>(ph)));
  };
  auto random_delay = [&] {
    const auto bits = static_cast<int>(rng.below(41));
    return static_cast<std::int64_t>(rng.below((std::uint64_t{1} << bits) + 1));
  };
  fire = [&](Key k) {
    ok = ok && !pending.empty() && *pending.begin() == k;
    pending.erase(k);
    ++fired;
    for (int c = 0; c < 2 && next_id < 30000; ++c) add(random_delay());
    if (rng.uniform() < 0.1 && !handles.empty()) {  // cancel a random handle (may be stale)
      const auto& [hk, id] = handles[rng.below(handles.size())];
      if (e.cancel(id)) {
        ok = ok && pending.erase(hk) == 1;
        ++cancelled;
      }
    }
  };
  for (int i = 0; i < 20; ++i) add(random_delay());
  while (!pending.empty()) {
    // Stop halfway to the next pending event, then schedule something before it.
    const std::int64_t next = std::get<0>(*pending.begin());
    const std::int64_t horizon = e.now().count_ns() + (next - e.now().count_ns()) / 2;
    e.run_until(SimTime::ns(horizon));
    ok = ok && e.now().count_ns() == horizon;
    if (next_id < 30000) add((next - horizon) / 3);
    e.run_until(SimTime::ns(std::get<0>(*pending.begin()) + random_delay()));
  }
  CHECK(ok);
  CHECK(cancelled > 100);
  CHECK(fired + cancelled == next_id);
  CHECK(e.pending() == 0);
}
