// The sync service's state machine (actors/sync_state): Testground's semantics, and limits.

#include <gtest/gtest.h>

#include "actors/sync_state.hpp"

using troupe::sync_state;

TEST(sync_state, signal_entries_count_up_per_state) {
  sync_state s;
  EXPECT_EQ(s.signal_entry("ready").value, 1u);
  EXPECT_EQ(s.signal_entry("ready").value, 2u);
  EXPECT_EQ(s.signal_entry("other").value, 1u);
  EXPECT_EQ(s.count("ready"), 2u);
  EXPECT_EQ(s.count("never"), 0u);
}

TEST(sync_state, a_barrier_is_released_by_the_entry_that_reaches_its_target) {
  sync_state s;
  bool released = true;
  ASSERT_TRUE(s.barrier("b", 3, 7, released).ok());
  EXPECT_FALSE(released);
  ASSERT_TRUE(s.barrier("b", 2, 8, released).ok());
  s.signal_entry("b");
  EXPECT_TRUE(s.take_released("b").empty());
  s.signal_entry("b");
  EXPECT_EQ(s.take_released("b"), std::vector<sync_state::waiter_id>{8});
  s.signal_entry("b");
  EXPECT_EQ(s.take_released("b"), std::vector<sync_state::waiter_id>{7});
  EXPECT_EQ(s.waiting(), 0u);
  // Already reached: released at once, nothing kept.
  ASSERT_TRUE(s.barrier("b", 3, 9, released).ok());
  EXPECT_TRUE(released);
  EXPECT_EQ(s.waiting(), 0u);
}

TEST(sync_state, topics_keep_order_and_subscribers_wait_for_their_seq) {
  sync_state s;
  bool ready = true;
  ASSERT_TRUE(s.subscribe("t", 2, 1, ready).ok());
  EXPECT_FALSE(ready);
  EXPECT_EQ(s.publish("t", "\"a\"").value, 1u);
  EXPECT_TRUE(s.take_ready("t").empty());
  EXPECT_EQ(s.publish("t", "\"b\"").value, 2u);
  auto r = s.take_ready("t");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].first, 1u);
  EXPECT_EQ(s.read("t", 1), (std::vector<std::string>{"\"a\"", "\"b\""}));
  EXPECT_EQ(s.read("t", 2), (std::vector<std::string>{"\"b\""}));
}

TEST(sync_state, cancelled_waiters_are_forgotten_and_limits_refuse_with_the_reason) {
  sync_state::options o;
  o.waiters_max = 1;
  o.payload_bytes_max = 4;
  sync_state s{o};
  bool released = false;
  ASSERT_TRUE(s.barrier("b", 5, 1, released).ok());
  auto full = s.barrier("b", 5, 2, released);
  EXPECT_FALSE(full.ok());
  EXPECT_NE(full.error.find("waiters"), std::string::npos) << full.error;
  EXPECT_TRUE(s.cancel(1));
  EXPECT_FALSE(s.cancel(1));
  EXPECT_TRUE(s.barrier("b", 5, 2, released).ok());
  EXPECT_FALSE(s.publish("t", "12345").ok());
  EXPECT_FALSE(s.signal_entry("").ok());
  EXPECT_FALSE(s.signal_entry(std::string(1000, 'x')).ok());
}
