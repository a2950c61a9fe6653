#include "sim/kernel.hpp"

#include <algorithm>
#include <tuple>
#include <vector>

#include "actors/random.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using troupe::sim::duration;
using troupe::sim::kernel;

TEST(kernel, fires_in_time_then_fifo_order) {
  kernel k;
  std::vector<int> order;
  k.schedule(duration{20ms}, [&] { order.push_back(3); });
  k.schedule(duration{10ms}, [&] { order.push_back(1); });
  k.schedule(duration{10ms}, [&] { order.push_back(2); });
  EXPECT_EQ(k.run_until_idle(), kernel::stop_reason::idle);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(k.now(), duration{20ms});
}

TEST(kernel, run_until_stops_at_the_deadline_and_sets_the_clock) {
  kernel k;
  int fired = 0;
  k.schedule(duration{5ms}, [&] { ++fired; });
  k.schedule(duration{15ms}, [&] { ++fired; });
  EXPECT_EQ(k.run_until(duration{10ms}), kernel::stop_reason::deadline);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(k.now(), duration{10ms});
  k.run_until(duration{15ms});
  EXPECT_EQ(fired, 2);
}

TEST(kernel, request_stop_returns_after_the_current_event) {
  kernel k;
  int fired = 0;
  k.schedule(duration{1ms}, [&] {
    ++fired;
    k.request_stop();
  });
  k.schedule(duration{2ms}, [&] { ++fired; });
  EXPECT_EQ(k.run_until_idle(), kernel::stop_reason::requested);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(k.run_until_idle(), kernel::stop_reason::idle);
  EXPECT_EQ(fired, 2);
}

TEST(kernel, events_scheduled_in_the_past_run_now) {
  kernel k;
  duration seen{-1};
  k.schedule(duration{10ms}, [&] { k.schedule(duration{1ms}, [&] { seen = k.now(); }); });
  k.run_until_idle();
  EXPECT_EQ(seen, duration{10ms});
}

TEST(kernel, run_until_idle_respects_its_limit) {
  kernel k;
  int fired = 0;
  k.schedule(duration{1s}, [&] { ++fired; });
  EXPECT_EQ(k.run_until_idle(duration{500ms}), kernel::stop_reason::limit);
  EXPECT_EQ(fired, 0);
}

namespace {

/// Records what fires: (time, the order it was scheduled in, which target).
class recorder final : public troupe::sim::event_target {
public:
  using fired = std::tuple<int64_t, uint64_t, int>;
  recorder(kernel& k, std::vector<fired>& out, int id)
    : k_(k)
    , out_(out)
    , id_(id) {}
  bool on_event(uint32_t, uint32_t, uint64_t b) override {
    out_.emplace_back(k_.now().count(), b, id_);
    return true;
  }

private:
  kernel& k_;
  std::vector<fired>& out_;
  int id_;
};

} // namespace

TEST(kernel, crowded_buckets_late_and_far_events_fire_in_time_then_schedule_order) {
  // Hundreds of events per ~1 ms bucket with many exact ties, events scheduled into the
  // bucket being fired, events past the calendar's 4 s horizon, and two targets: the order
  // must be exactly (time, schedule order), which sorting a reference list gives.
  kernel k;
  std::vector<recorder::fired> seen;
  recorder a{k, seen, 0}, b{k, seen, 1};
  troupe::rng r{7};
  std::vector<recorder::fired> expected;
  uint64_t n = 0;
  auto add = [&](int64_t at) {
    auto& target = r.below(2) == 0 ? a : b;
    expected.emplace_back(at, n, &target == &a ? 0 : 1);
    k.schedule(duration{at}, target, 0, 0, n++);
  };
  for (int i = 0; i < 3000; ++i)
    add(static_cast<int64_t>(r.below(8'000'000)) / 1000 * 1000); // 8 ms, on a 1 us grid: ties
  for (int i = 0; i < 200; ++i)
    add(4'000'000'000 + static_cast<int64_t>(r.below(3'000'000'000))); // past the horizon
  // Events scheduled while running, into the current bucket (at now + a few us).
  k.schedule(duration{2'000'000}, [&] {
    for (int i = 0; i < 50; ++i)
      add(k.now().count() + static_cast<int64_t>(r.below(5)) * 1000);
  });
  k.run_until_idle();
  std::stable_sort(expected.begin(), expected.end(), [](const auto& x, const auto& y) {
    return std::get<0>(x) < std::get<0>(y) ||
           (std::get<0>(x) == std::get<0>(y) && std::get<1>(x) < std::get<1>(y));
  });
  ASSERT_EQ(seen.size(), expected.size());
  EXPECT_EQ(seen, expected);
}
