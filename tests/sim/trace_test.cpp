// The trace: digest, recent events, events.jsonl, and naming the first diverging event.

#include "sim/trace.hpp"

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "sim/world.hpp"
#include "tests/sim/test_models.hpp"

using namespace std::chrono_literals;
using namespace troupe::sim;
using troupe::sim::testing::hop_model;

namespace {

world_trace hop_run(const trace_request& req, bool leak, uint32_t nodes = 100, uint64_t hops = 40) {
  kernel k;
  world::options o;
  o.seed = 7;
  o.default_link.latency = 1ms;
  o.default_link.jitter = 50ms;
  o.trace = req;
  world w{k, o};
  for (uint32_t i = 0; i < nodes; ++i)
    w.add_node("n" + std::to_string(i),
               [nodes, hops, leak] { return std::make_unique<hop_model>(nodes, hops, leak); });
  w.start();
  k.run_until_idle();
  return w.trace_result();
}

} // namespace

TEST(trace, deterministic_runs_do_not_diverge) {
  auto d = compare_runs([](const trace_request& r) { return hop_run(r, false); });
  EXPECT_FALSE(d.diverged);
  EXPECT_EQ(d.first_digest, d.second_digest);
}

TEST(trace, wall_clock_model_divergence_is_named_in_the_prefix) {
  auto d = compare_runs([](const trace_request& r) { return hop_run(r, true); });
  ASSERT_TRUE(d.diverged);
  EXPECT_NE(d.first_digest, d.second_digest);
  // The leak sets the payload of the message sent with 2 hops left: the first delivery of
  // such a message is the first diverging event, and both sides name a delivery.
  EXPECT_NE(d.first_event.find("\"event\":\"deliver\""), std::string::npos) << d.first_event;
  EXPECT_NE(d.second_event.find("\"event\":\"deliver\""), std::string::npos);
  EXPECT_NE(d.first_event, d.second_event);
  // Every event before the named one agrees (that is what "first" means).
  auto a = hop_run({0, d.index + 1, 1024}, false);
  (void) a;
}

TEST(trace, divergence_past_the_recorded_prefix_is_found_by_checkpoints) {
  // A tiny prefix forces the checkpoint path; the answer must match the exact one.
  auto run = [](const trace_request& r) { return hop_run(r, true); };
  auto exact = compare_runs(run, 1u << 20, 1024);
  auto windowed = compare_runs(run, 16, 256);
  ASSERT_TRUE(exact.diverged);
  ASSERT_TRUE(windowed.diverged);
  EXPECT_GT(exact.index, 16u);
  EXPECT_EQ(windowed.index, exact.index) << windowed.note;
  EXPECT_TRUE(windowed.note.empty()) << windowed.note;
}

TEST(trace, recent_events_are_bounded_and_ordered) {
  // 13: the ring is kept as a power of two, but exactly the asked-for number comes back.
  for (size_t max : {16u, 13u}) {
    kernel k;
    world::options o;
    o.recent_events_max = max;
    world w{k, o};
    for (uint32_t i = 0; i < 10; ++i)
      w.add_node("n" + std::to_string(i), [] { return std::make_unique<hop_model>(10, 20); });
    w.start();
    k.run_until_idle();
    auto recent = w.events().recent();
    ASSERT_EQ(recent.size(), max);
    EXPECT_EQ(recent.back().index + 1, w.events().events());
    EXPECT_EQ(recent.back().digest, w.digest());
    for (size_t i = 1; i < recent.size(); ++i)
      EXPECT_EQ(recent[i].index, recent[i - 1].index + 1);
  }
}

TEST(trace, events_jsonl_is_written_and_capped) {
  auto path = std::string(::testing::TempDir()) + "troupe_events_test.jsonl";
  {
    kernel k;
    world::options o;
    o.events_path = path;
    o.events_bytes_max = 4096;
    world w{k, o};
    for (uint32_t i = 0; i < 10; ++i)
      w.add_node("n" + std::to_string(i), [] { return std::make_unique<hop_model>(10, 20); });
    w.start();
    w.crash(3);
    k.run_until_idle();
  }
  std::ifstream in{path};
  std::string line, last;
  size_t bytes = 0, lines = 0;
  while (std::getline(in, line)) {
    bytes += line.size() + 1;
    ++lines;
    last = line;
  }
  EXPECT_GT(lines, 10u);
  EXPECT_LE(bytes, 4096u + 32u);
  EXPECT_EQ(last, "{\"truncated\":true}");
  std::remove(path.c_str());
}

TEST(trace, faults_change_the_digest) {
  auto run = [](bool fault) {
    kernel k;
    world w{k, {}};
    for (uint32_t i = 0; i < 10; ++i)
      w.add_node("n" + std::to_string(i), [] { return std::make_unique<hop_model>(10, 5); });
    w.start();
    if (fault)
      w.isolate(9);
    k.run_until_idle();
    return w.digest();
  };
  EXPECT_NE(run(false), run(true));
  EXPECT_EQ(run(true), run(true));
}
