// Stream vs datagram links in the simulated network (sim/network.hpp): on a stream link 2%
// loss delays delivery (a retransmission timeout, head-of-line blocking) but loses nothing and
// keeps the order; on a datagram link the same loss drops messages. Both deterministic.

#include "sim/network.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace troupe::sim {
namespace {

using namespace std::chrono_literals;

struct outcome {
  size_t lost = 0;
  size_t retransmitted = 0;
  bool ordered = true;
  duration max_delay{0};
  duration total_delay{0};
  std::vector<int64_t> arrivals;
};

outcome send_many(link_options::transport_t transport, double loss, uint64_t seed) {
  link_options l;
  l.latency = 50ms;
  l.loss = loss;
  l.transport = transport;
  network net{l};
  auto r = troupe::rng::stream(seed, "stream-test");
  outcome o;
  duration last{0};
  for (int i = 0; i < 10000; ++i) {
    const duration now = i * 1ms;
    auto route = net.send(0, 1, 1000, now, now, r);
    if (route.lost) {
      ++o.lost;
      continue;
    }
    EXPECT_EQ(route.copies, 1);
    if (route.retransmits > 0)
      ++o.retransmitted;
    const duration at = route.arrival[0];
    o.ordered = o.ordered && at >= last;
    last = at;
    o.max_delay = std::max(o.max_delay, at - now);
    o.total_delay += at - now;
    o.arrivals.push_back(at.count());
  }
  return o;
}

TEST(stream_links, two_percent_loss_on_a_stream_link_delays_delivery_but_loses_nothing) {
  const auto s = send_many(link_options::stream, 0.02, 1);
  EXPECT_EQ(s.lost, 0u);
  EXPECT_EQ(s.arrivals.size(), 10000u);
  EXPECT_TRUE(s.ordered);
  // ~2% of segments are retransmitted, each at least the 200 ms minimum RTO late, and the
  // segments behind one wait for it (head-of-line blocking): the mean delay grows well past
  // the 50 ms latency.
  EXPECT_GT(s.retransmitted, 100u);
  EXPECT_LT(s.retransmitted, 400u);
  EXPECT_GE(s.max_delay, 250ms);
  EXPECT_GT(s.total_delay / 10000, 60ms);
}

TEST(stream_links, the_same_loss_on_a_datagram_link_drops_messages) {
  const auto d = send_many(link_options::datagram, 0.02, 1);
  EXPECT_GT(d.lost, 100u);
  EXPECT_LT(d.lost, 400u);
  EXPECT_EQ(d.retransmitted, 0u);
  EXPECT_EQ(d.max_delay, 50ms);
}

TEST(stream_links, without_loss_a_stream_link_is_the_datagram_link) {
  const auto s = send_many(link_options::stream, 0, 7);
  const auto d = send_many(link_options::datagram, 0, 7);
  EXPECT_EQ(s.arrivals, d.arrivals);
}

TEST(stream_links, stream_links_are_deterministic) {
  EXPECT_EQ(send_many(link_options::stream, 0.05, 3).arrivals,
            send_many(link_options::stream, 0.05, 3).arrivals);
  EXPECT_NE(send_many(link_options::stream, 0.05, 3).arrivals,
            send_many(link_options::stream, 0.05, 4).arrivals);
}

} // namespace
} // namespace troupe::sim
