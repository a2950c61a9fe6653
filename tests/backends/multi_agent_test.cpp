// A deployment over several agents (backends/agent/multi_supervisor, multi_fabric): slots
// numbered across hosts, each call on its slot's own agent; a link change reaching every host
// that relays between its two nodes, and their stats summed; a bounded log tail by bytes.

#include <fstream>

#include <gtest/gtest.h>

#include "backends/agent/multi_fabric.hpp"
#include "backends/agent/multi_supervisor.hpp"
#include "tests/support/paths.hpp"

using namespace troupe::backends;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// Two in-process agents (two "hosts"), their events routed by host.
struct two_hosts {
  std::shared_ptr<agent::multi_supervisor> sup = std::make_shared<agent::multi_supervisor>();
  std::vector<std::shared_ptr<agent::connection>> conns;
  fs::path dir;

  explicit two_hosts(const std::string& name)
    : dir(troupe::test::fresh_dir(name)) {
    for (size_t h = 0; h < 2; ++h) {
      auto s = sup;
      conns.push_back(agent::connection::start_in_process(
        [s, h](const nlohmann::json& e) { s->on_event(h, e); }));
      sup->add_host(conns.back());
    }
  }
  ~two_hosts() {
    for (auto& c : conns)
      c->close();
  }

  local::process_options sleeper(const std::string& id) const {
    local::process_options o;
    o.id = id;
    o.binary = "/bin/sleep";
    o.args = {"300"};
    o.cwd = dir / id;
    o.log_path = dir / (id + ".log");
    o.pid_path = dir / (id + ".pid");
    return o;
  }
};

} // namespace

TEST(multi_agent, slots_count_across_hosts_and_each_call_reaches_its_own_agent) {
  two_hosts h{"multi-agent-slots"};
  auto a = h.sup->add(1, h.sleeper("a"), 2s);
  auto b = h.sup->add(0, h.sleeper("b"), 2s);
  auto c = h.sup->add(1, h.sleeper("c"), 2s);
  EXPECT_EQ((std::vector<size_t>{a, b, c}), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(h.sup->host_of(a), 1u);
  EXPECT_EQ(h.sup->host_slot(a), 0u);
  EXPECT_EQ(h.sup->host_slot(b), 0u);
  EXPECT_EQ(h.sup->host_slot(c), 1u);
  EXPECT_EQ(h.sup->slot_of(1, 1), c);
  EXPECT_EQ(h.sup->slot_of(0, 1), SIZE_MAX);
  for (auto s : {a, b, c})
    h.sup->start(s);
  for (auto s : {a, b, c})
    EXPECT_EQ(h.sup->state(s), local::process_state::running) << s;
  EXPECT_EQ(h.sup->options(c).id, "c");
  // Stopping c leaves a (same host) and b (the other) running.
  EXPECT_TRUE(h.sup->stop(c, 2s));
  EXPECT_EQ(h.sup->state(c), local::process_state::exited);
  EXPECT_EQ(h.sup->state(a), local::process_state::running);
  EXPECT_EQ(h.sup->live_pids().size(), 2u);
  h.sup->stop_all(2s);
  EXPECT_TRUE(h.sup->live_pids().empty());
  EXPECT_EQ(h.sup->all_pids().size(), 3u);
}

TEST(multi_agent, a_link_change_reaches_every_host_that_relays_it_and_stats_are_summed) {
  two_hosts h{"multi-agent-relays"};
  agent::multi_fabric f{1};
  for (auto& c : h.conns)
    f.add_host(c);
  // a dials b from host 0, b dials a from host 1: link (a, b) is relayed on both.
  EXPECT_NE(f.add_relay(0, "a", "b", 1), 0);
  EXPECT_NE(f.add_relay(1, "b", "a", 2), 0);
  f.start();
  EXPECT_EQ(f.relay_count(), 2u);
  f.apply({{agent::link_change::cut, "a", "b", {}}});
  auto stats = f.stats();
  ASSERT_EQ(stats.size(), 2u) << "one entry per directed link, over both hosts";
  for (const auto& s : stats)
    EXPECT_EQ(s.mode, s.from == "a" ? agent::link_mode::cut : agent::link_mode::open) << s.from;
  f.heal_all();
  for (const auto& s : f.stats())
    EXPECT_EQ(s.mode, agent::link_mode::open) << s.from;
  f.stop();
  EXPECT_EQ(f.stats_json()["relays"], 2);
}

TEST(multi_agent, a_log_tail_by_bytes_starts_at_a_line_and_is_utf8) {
  two_hosts h{"multi-agent-tail"};
  auto o = h.sleeper("t");
  fs::create_directories(o.log_path.parent_path());
  {
    std::ofstream log{o.log_path, std::ios::binary};
    for (int i = 0; i < 100; ++i)
      log << "line " << i << "\n";
    log << "bad \xff byte\n";
  }
  auto slot = h.sup->add(0, o, 2s);
  auto tail = h.sup->log_tail_bytes(slot, 40);
  EXPECT_LE(tail.size(), 40u);
  EXPECT_EQ(tail.rfind("line ", 0), 0u) << tail;
  EXPECT_NE(tail.find("bad ? byte\n"), std::string::npos) << tail;
}
