#include "sim/kernel.hpp"

#include <vector>

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
