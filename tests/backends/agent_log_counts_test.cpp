// Log-pattern counts through the agent protocol (feature `log_counts`), from a child
// `troupe agent --stdio`: the op names the patterns, the agent reads the node's log beside
// it and sends `log_counts` events as counts change, and its answer at the end equals what
// scanning the log file gives. Bad patterns are error replies naming them.

#include <mutex>

#include <gtest/gtest.h>

#include "actors/log_scan.hpp"
#include "backends/agent/connection.hpp"
#include "backends/agent/remote_supervisor.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/wait.hpp"

using namespace troupe;
using namespace troupe::backends;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// A child agent; its log_counts events are kept, the rest goes to the supervisor.
struct counting_host {
  std::shared_ptr<agent::remote_supervisor> sup = std::make_shared<agent::remote_supervisor>();
  std::shared_ptr<agent::connection> conn;
  fs::path dir;
  std::mutex m;
  std::vector<json> events;

  explicit counting_host(const std::string& name)
    : dir(troupe::test::fresh_dir(name)) {
    agent::child_agent_options o;
    o.binary = troupe::test::troupe_binary();
    o.log_path = dir / "agent.log";
    o.pid_path = dir / "agent.pid";
    conn = agent::connection::start_child(o, [this](const json& e) {
      if (e.value("event", std::string{}) == "log_counts") {
        std::lock_guard<std::mutex> g{m};
        events.push_back(e);
      }
      sup->on_event(e);
    });
    sup->attach(conn);
  }
  ~counting_host() { conn->close(); }

  /// A node that prints `lines` lines, every third one a warning, then waits for a line on
  /// its stdin that never comes (it runs until stopped).
  size_t add_printer(const std::string& id, int lines) {
    local::process_options o;
    o.id = id;
    o.binary = "/bin/sh";
    o.args = {"-c", "i=0; while [ $i -lt " + std::to_string(lines) +
                      " ]; do if [ $((i % 3)) -eq 0 ]; then echo \"WARN slow $i\"; else "
                      "echo \"info $i\"; fi; i=$((i+1)); done; exec sleep 300"};
    o.cwd = dir / id;
    o.log_path = dir / (id + ".log");
    o.pid_path = dir / (id + ".pid");
    return sup->add(o, 2s);
  }

  json events_copy() {
    std::lock_guard<std::mutex> g{m};
    return events;
  }
};

json ask(agent::connection& c, size_t slot, const std::string& pattern, bool ignore_case = true) {
  return c.call("log_counts",
                {{"slot", slot},
                 {"interval_ms", 20},
                 {"patterns", {{{"pattern", pattern}, {"ignore_case", ignore_case}}}}});
}

} // namespace

TEST(agent_log_counts, counts_beside_the_node_and_agrees_with_the_file) {
  counting_host h{"agent-log-counts"};
  const auto slot = h.add_printer("printer", 600);
  // Asked before the node writes anything: counted from its first line on.
  auto first = ask(*h.conn, slot, "^warn");
  EXPECT_EQ(first["id"], "printer");
  EXPECT_EQ(first["patterns"][0]["matches"], 0);
  h.sup->start(slot);
  // The events follow the count up, without being asked.
  ASSERT_TRUE(troupe::test::wait_until(
    [&] {
      for (const auto& e : h.events_copy())
        for (const auto& p : e["patterns"])
          if (p["matches"] == 200)
            return true;
      return false;
    },
    30s))
    << h.events_copy().dump();
  auto r = ask(*h.conn, slot, "^warn");
  const auto& p = r["patterns"][0];
  EXPECT_EQ(p["pattern"], "^warn");
  EXPECT_EQ(p["matches"], 200);
  ASSERT_EQ(p["examples"].size(), log_examples_max);
  EXPECT_EQ(p["examples"][0]["text"], "WARN slow 0");
  // The same as `log_pattern` reading the file in the run directory.
  std::string why;
  const auto file = scan_node_logs(h.dir / "printer.log", compile_log_pattern("^warn", true, why));
  EXPECT_EQ(p["matches"], file.matches);
  EXPECT_EQ(p["lines"], file.lines);
  EXPECT_EQ(p["examples"][0]["line"], file.examples[0].line_number);
  // Case-sensitive is a pattern of its own, counted from the log's start too.
  EXPECT_EQ(ask(*h.conn, slot, "^warn", false)["patterns"][0]["matches"], 0);
  // Every event is bounded: counts, and examples only while there are new ones.
  for (const auto& e : h.events_copy())
    EXPECT_LT(e.dump().size(), 4096u) << e.dump();
}

TEST(agent_log_counts, bad_patterns_are_error_replies_naming_them) {
  counting_host h{"agent-log-counts-bad"};
  const auto slot = h.add_printer("p", 1);
  try {
    ask(*h.conn, slot, "panic(");
    FAIL() << "accepted";
  } catch (const agent::agent_error& e) {
    EXPECT_NE(std::string(e.what()).find("the log pattern \"panic(\" is not a valid regular "
                                         "expression"),
              std::string::npos)
      << e.what();
  }
  try {
    h.conn->call("log_counts", {{"slot", slot}, {"patterns", {{{"ignore_case", true}}}}});
    FAIL() << "accepted";
  } catch (const agent::agent_error& e) {
    EXPECT_EQ(std::string(e.what()), "bad arguments to log_counts: field \"pattern\" is missing");
  }
  EXPECT_THROW(h.conn->call("log_counts", {{"slot", slot}}), agent::agent_error)
    << "nothing counted for the slot yet";
}
