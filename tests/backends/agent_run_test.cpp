// `troupe run` with the local backend's agent as a child process (`"agent": "child"`): the
// fabric scenario with a partition and a restart passes through it, `kill -9` of troupe
// leaves no node and no agent behind, and an agent that cannot start is one sentence, exit 2.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/backends/live_helpers.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/troupe_child.hpp"
#include "tests/support/wait.hpp"

using namespace troupe::backends::testing;
using nlohmann::json;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in{p};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// litecoin-faults-local.json on 3 nodes, its agent a child, with `steps` and `duration`.
fs::path child_agent_scenario(const fs::path& dir, const std::string& duration, json steps,
                              json backend_extra = json::object()) {
  auto doc =
    json::parse(slurp(troupe::test::source_dir() + "/scenarios/litecoin-faults-local.json"));
  doc["name"] = "litecoin-child-agent";
  doc["duration"] = duration;
  doc["topology"]["groups"][0]["count"] = 2;
  doc["backend"]["agent"] = "child";
  doc["backend"]["agent_binary"] = troupe::test::troupe_binary();
  for (auto it = backend_extra.begin(); it != backend_extra.end(); ++it)
    doc["backend"][it.key()] = it.value();
  doc["workloads"][1]["steps"] = std::move(steps);
  doc["expectations"] = json::array({{{"kind", "safety"}},
                                     {{"kind", "convergence"}, {"within", "20s"}},
                                     {{"kind", "consensus_liveness"}, {"min_growth", 5}}});
  auto path = dir / "scenario.json";
  std::ofstream{path} << doc.dump(2);
  return path;
}

struct troupe_child {
  pid_t pid = -1;
  fs::path out;
  fs::path log;
};

troupe_child start_run(const fs::path& scenario, const fs::path& dir) {
  troupe_child r;
  r.out = dir / "run";
  r.log = dir / "troupe.out";
  r.pid =
    troupe::test::start_troupe_child({"run", scenario.string(), "--out", r.out.string()}, r.log);
  return r;
}

/// The exit code (bounded; -1 on timeout, after a SIGKILL).
int wait_run(const troupe_child& r, std::chrono::seconds limit) {
  return troupe::test::wait_exit(r.pid, limit);
}

pid_t read_pid(const fs::path& p) {
  pid_t pid = 0;
  std::ifstream{p} >> pid;
  return pid;
}

std::vector<pid_t> node_pids(const fs::path& run_dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(run_dir / "nodes", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->path().extension() == ".pid")
      if (auto p = read_pid(it->path()); p > 0)
        out.push_back(p);
  return out;
}

/// Gone, or a zombie nobody of ours will reap (init in a container reaps when it reaps).
bool gone(pid_t pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text;
  if (!std::getline(stat, text))
    return true;
  auto close = text.rfind(')');
  return close == std::string::npos || text.substr(close + 2, 1) == "Z";
}

} // namespace

TEST(local_child_agent, fabric_scenario_with_partition_and_restart_passes) {
  auto dir = temp_run_dir("child-agent-run");
  auto scenario = child_agent_scenario(
    dir, "40s",
    json::array(
      {{{"at", "5s"}, {"action", "set_link"}, {"latency", "20ms"}},
       {{"at", "8s"},
        {"action", "partition"},
        {"sides", json::array({json::array({"miner-0"}), json::array({"miner-1", "observer"})})}},
       {{"at", "16s"}, {"action", "heal"}},
       {{"at", "20s"}, {"action", "restart"}, {"nodes", json::array({"miner-1"})}}}));
  auto r = start_run(scenario, dir);
  auto code = wait_run(r, 200s);
  auto out = slurp(r.log);
  ASSERT_EQ(code, 0) << out;
  auto report = json::parse(slurp(r.out / "report.json"));
  EXPECT_EQ(report["verdict"], "pass") << report["expectations"].dump(2);
  std::vector<std::string> faults;
  for (const auto& f : report["faults"])
    faults.push_back(f["action"]);
  EXPECT_EQ(faults, (std::vector<std::string>{"set_link", "partition", "restart"}))
    << report["faults"].dump(2);
  EXPECT_TRUE(report["refusals"].empty()) << report["refusals"].dump(2);
  // The relays were the child agent's: it counted what the partition cut.
  EXPECT_EQ(report["fabric"]["relays"], 6);
  EXPECT_GT(report["fabric"]["totals"]["connections_cut"].get<uint64_t>(), 0u);
  // The agent was a process of its own, and it is gone with its nodes.
  auto agent_log = slurp(r.out / "agent.log");
  EXPECT_NE(agent_log.find("serving on stdio"), std::string::npos) << agent_log;
  EXPECT_NE(agent_log.find("stopped (every node and relay it started)"), std::string::npos)
    << agent_log;
  EXPECT_FALSE(fs::exists(r.out / "agent.pid"));
  EXPECT_TRUE(node_pids(r.out).empty());
}

TEST(local_child_agent, with_the_agent_polling_troupe_opens_no_rpc_connection_to_a_node) {
  auto dir = temp_run_dir("child-agent-polls");
  auto scenario = child_agent_scenario(dir, "40s", json::array(), {{"poll", "agent"}});
  // No transactions and no peer controls: what the proxies report (status, blocks) is all
  // in the agent's summaries.
  auto doc = json::parse(slurp(scenario));
  doc["workloads"].erase(0);
  ASSERT_EQ(doc["workloads"][0]["kind"], "steps");
  std::ofstream{scenario} << doc.dump(2);
  auto r = start_run(scenario, dir);
  auto code = wait_run(r, 200s);
  ASSERT_EQ(code, 0) << slurp(r.log);
  auto report = json::parse(slurp(r.out / "report.json"));
  // Liveness and convergence held on what the summaries said...
  EXPECT_EQ(report["verdict"], "pass") << report["expectations"].dump(2);
  EXPECT_GT(report["counters"]["blocks_produced"].get<uint64_t>(), 0u);
  // ... and no proxy made an adapter to call its node.
  EXPECT_EQ(report["counters"]["proxy_adapters"], 0) << report["counters"].dump(2);
  EXPECT_TRUE(node_pids(r.out).empty());
}

TEST(local_child_agent, kill_9_of_troupe_leaves_no_node_and_no_agent) {
  auto dir = temp_run_dir("child-agent-kill9");
  auto scenario = child_agent_scenario(dir, "10m", json::array());
  auto r = start_run(scenario, dir);
  // Deployed: every node and the agent have their PID files, and the run is under way.
  std::vector<pid_t> nodes;
  pid_t agent = 0;
  ASSERT_TRUE(troupe::test::wait_until(
    [&] {
      nodes = node_pids(r.out);
      agent = read_pid(r.out / "agent.pid");
      return nodes.size() == 3 && agent > 0 &&
             slurp(r.out / "troupe.log").find("deployed 3 nodes") != std::string::npos;
    },
    120s, 100ms))
    << slurp(r.log);
  for (auto p : nodes)
    ASSERT_FALSE(gone(p));
  ASSERT_FALSE(gone(agent));
  ::kill(r.pid, SIGKILL);
  int status = 0;
  ::waitpid(r.pid, &status, 0);
  EXPECT_TRUE(troupe::test::wait_until(
    [&] {
      for (auto p : nodes)
        if (!gone(p))
          return false;
      return gone(agent);
    },
    30s, 50ms))
    << "node or agent processes outlived troupe";
  for (auto p : nodes)
    EXPECT_TRUE(gone(p)) << "node pid " << p;
  EXPECT_TRUE(gone(agent)) << "agent pid " << agent;
}

TEST(local_child_agent, an_agent_that_cannot_start_is_one_sentence_and_exit_2) {
  auto dir = temp_run_dir("child-agent-bad");
  for (const auto& [binary, expected] : std::vector<std::pair<std::string, std::string>>{
         {"/nonexistent/troupe", "/nonexistent/troupe is missing or not executable"},
         {"/bin/false", "ended the stream (exit code 1)"}}) {
    auto scenario = child_agent_scenario(dir, "20s", json::array(), {{"agent_binary", binary}});
    auto r = start_run(scenario, dir);
    EXPECT_EQ(wait_run(r, 60s), 2) << binary;
    auto out = slurp(r.log);
    EXPECT_NE(out.find("the local backend could not start its agent: "), std::string::npos) << out;
    EXPECT_NE(out.find(expected), std::string::npos) << out;
    EXPECT_TRUE(node_pids(r.out).empty()) << "no node started";
    fs::remove_all(r.out);
  }
}

TEST(local_child_agent, a_bad_agent_value_is_a_json_path_error) {
  auto dir = temp_run_dir("child-agent-value");
  auto scenario = child_agent_scenario(dir, "20s", json::array(), {{"agent", "thread"}});
  auto r = start_run(scenario, dir);
  EXPECT_EQ(wait_run(r, 60s), 2);
  auto out = slurp(r.log);
  EXPECT_NE(out.find("backend.agent: must be one of in-process, child, got \"thread\""),
            std::string::npos)
    << out;
}

TEST(local_child_agent, the_agent_param_is_in_the_scenario_schema) {
  auto dir = temp_run_dir("child-agent-schema");
  auto out = dir / "schema.json";
  auto cmd = troupe::test::troupe_binary() + " schema scenario > " + out.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  // Somewhere under the backend's params: {"default": "in-process", "enum": [...]}.
  std::function<bool(const json&)> has_agent = [&](const json& j) {
    if (j.is_object()) {
      if (auto it = j.find("agent"); it != j.end() && it->is_object() && it->contains("enum"))
        return (*it)["enum"] == json::array({"in-process", "child"}) &&
               (*it)["default"] == "in-process";
      for (const auto& v : j)
        if (has_agent(v))
          return true;
    } else if (j.is_array()) {
      for (const auto& v : j)
        if (has_agent(v))
          return true;
    }
    return false;
  };
  EXPECT_TRUE(has_agent(json::parse(slurp(out))));
}

TEST(local_child_agent, sigint_of_troupe_stops_the_agent_and_its_nodes) {
  auto dir = temp_run_dir("child-agent-sigint");
  auto scenario = child_agent_scenario(dir, "10m", json::array());
  auto r = start_run(scenario, dir);
  std::vector<pid_t> nodes;
  pid_t agent = 0;
  ASSERT_TRUE(troupe::test::wait_until(
    [&] {
      nodes = node_pids(r.out);
      agent = read_pid(r.out / "agent.pid");
      return nodes.size() == 3 && agent > 0 &&
             slurp(r.out / "troupe.log").find("deployed 3 nodes") != std::string::npos;
    },
    120s, 100ms))
    << slurp(r.log);
  ::kill(r.pid, SIGINT);
  const int code = wait_run(r, 60s);
  EXPECT_NE(code, -1) << "troupe exits after SIGINT";
  EXPECT_NE(code, 0);
  // Troupe's teardown waited for its agent: nothing is left once it has exited.
  for (auto p : nodes)
    EXPECT_TRUE(gone(p)) << "node pid " << p;
  EXPECT_TRUE(gone(agent)) << "agent pid " << agent;
  EXPECT_FALSE(fs::exists(r.out / "agent.pid"));
  auto report = json::parse(slurp(r.out / "report.json"));
  EXPECT_EQ(report["verdict"], "interrupted");
}
