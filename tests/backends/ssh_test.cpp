// The ssh backend: inventory and placement (no sshd needed), then real sshd instances on
// loopback addresses (tests/support/sshd_fleet.hpp): `troupe fleet check` reaches them, copies
// troupe once (skipped by hash the second time), starts an agent on each over ssh; each bad
// input is one sentence naming the host and the fix; and kill -9 of the orchestrator leaves
// no agent and no node process on any host, checked by PID on each host over ssh.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "actors/errors.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "backends/agent/remote_supervisor.hpp"
#include "backends/ssh/fleet.hpp"
#include "backends/ssh/inventory.hpp"
#include "backends/ssh/placement.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/sshd_fleet.hpp"
#include "tests/support/wait.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace troupe;
using namespace troupe::backends::ssh;
using troupe::test::shell;
using troupe::test::shell_quote;

namespace {

/// build/test-runs/ssh-NAME, emptied: nothing of an earlier run (a PID file, a copy of
/// troupe on the "hosts") reaches this one.
fs::path test_root(const std::string& name) {
  auto d = fs::path(troupe::test::build_dir()) / "test-runs" / ("ssh-" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

/// Every message of a validation_failed (or the user_error's) for `f`.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

expanded_topology topo_of(const json& groups) {
  troupe::register_catalog();
  json doc = {{"name", "t"}, {"duration", "10s"}, {"topology", {{"groups", groups}}}};
  auto s = troupe::scenario_from_json(doc);
  return troupe::expand(s);
}

inventory hosts_of(const json& hosts) {
  auto inv = parse_inventory(json{{"hosts", hosts}}, "hosts.json", "/");
  inv.source = "hosts.json";
  return inv;
}

} // namespace

// -- inventory ------------------------------------------------------------------

TEST(ssh_inventory, every_problem_with_its_json_path) {
  auto err = error_of([] {
    parse_inventory(json::parse(R"({"hosts": [{"adress": "a", "port": 70000},
                                              {"address": "b", "labels": "x"},
                                              {"address": "b"}], "host_keys": "maybe"})"),
                    "hosts.json", "/");
  });
  EXPECT_NE(err.find("hosts.json: hosts[0].address: is required"), std::string::npos) << err;
  EXPECT_NE(err.find("hosts.json: hosts[0].port: must be an integer in 1..65535"),
            std::string::npos)
    << err;
  EXPECT_NE(err.find("did you mean \"address\""), std::string::npos) << err;
  EXPECT_NE(err.find("hosts.json: hosts[1].labels"), std::string::npos) << err;
  EXPECT_NE(err.find("hosts.json: host_keys: must be one of strict, accept-new"), std::string::npos)
    << err;
}

TEST(ssh_inventory, defaults_a_list_and_duplicates) {
  auto inv = parse_inventory(json::parse(R"([{"address": "10.1.2.3"}])"), "h.json", "/base");
  ASSERT_EQ(inv.hosts.size(), 1u);
  EXPECT_EQ(inv.hosts[0].name, "10.1.2.3");
  EXPECT_EQ(inv.hosts[0].port, 22);
  EXPECT_EQ(inv.hosts[0].nodes_max, 0u);
  EXPECT_EQ(inv.host_keys, "strict");
  auto dup = error_of(
    [] { parse_inventory(json::parse(R"([{"address": "a"}, {"address": "a"}])"), "h.json", "/"); });
  EXPECT_NE(dup.find("h.json: hosts[1].name: \"a\" names two hosts"), std::string::npos) << dup;
  EXPECT_NE(dup.find("a:22 is listed twice"), std::string::npos) << dup;
  auto none = error_of([] { parse_inventory(json::parse(R"({"hosts": []})"), "h.json", "/"); });
  EXPECT_NE(none.find("h.json: hosts: lists no host"), std::string::npos) << none;
}

TEST(ssh_inventory, unreadable_file_is_one_sentence) {
  auto err = error_of([] { load_inventory("/nonexistent/hosts.json"); });
  EXPECT_EQ(err, "cannot read the ssh inventory /nonexistent/hosts.json: give the backend param "
                 "\"hosts\" the path of a hosts JSON file");
}

// -- placement ------------------------------------------------------------------

TEST(ssh_placement, spreads_by_default_and_honours_nodes_max) {
  auto t = topo_of(
    json::parse(R"([{"name": "n", "count": 5, "role": "validator", "node": {"model": "chain"}}])"));
  auto inv = hosts_of(
    json::parse(R"([{"address": "a", "nodes_max": 1}, {"address": "b"}, {"address": "c"}])"));
  auto p = place(t, inv, {});
  EXPECT_EQ(p.nodes_on[0].size(), 1u);
  EXPECT_EQ(p.nodes_on[1].size(), 2u);
  EXPECT_EQ(p.nodes_on[2].size(), 2u);
  auto full = hosts_of(json::parse(R"([{"address": "a", "nodes_max": 2},
                                       {"address": "b", "nodes_max": 2}])"));
  auto err = error_of([&] { place(t, full, {}); });
  EXPECT_NE(err.find("cannot place node n-4: the hosts of hosts.json hold 4 nodes in all"),
            std::string::npos)
    << err;
  EXPECT_NE(err.find("add hosts or raise their nodes_max"), std::string::npos) << err;
}

TEST(ssh_placement, groups_go_to_their_labels) {
  auto t = topo_of(
    json::parse(R"([{"name": "miners", "count": 2, "role": "validator", "node": {"model": "chain"}},
                                   {"name": "users", "count": 2, "role": "observer", "node": {"model": "chain"}}])"));
  auto inv = hosts_of(json::parse(R"([{"address": "a", "labels": ["miners"]},
                                      {"address": "b", "labels": ["big"]},
                                      {"address": "c"}])"));
  // "miners" by the label of the same name; "users" tied by the placement map.
  auto p = place(t, inv, {{"users", "big"}});
  EXPECT_EQ(p.nodes_on[0], (std::vector<size_t>{0, 1}));
  EXPECT_EQ(p.nodes_on[1], (std::vector<size_t>{2, 3}));
  EXPECT_TRUE(p.nodes_on[2].empty());
  auto err = error_of([&] { place(t, inv, {{"users", "gpu"}}); });
  EXPECT_NE(err.find("ties group \"users\" to label \"gpu\", which no host of hosts.json"),
            std::string::npos)
    << err;
}

TEST(ssh_placement, troupe_topology_prints_it) {
  auto dir = test_root("topology");
  std::ofstream{dir / "hosts.json"} << R"({"hosts": [
    {"name": "a1", "address": "10.9.0.1", "labels": ["miners"]},
    {"name": "a2", "address": "10.9.0.2"}, {"name": "a3", "address": "10.9.0.3"}]})";
  json s = {{"name", "placed"},
            {"duration", "10s"},
            {"topology",
             {{"groups", json::array({{{"name", "miners"},
                                       {"count", 2},
                                       {"role", "validator"},
                                       {"node", {{"program", "litecoin-regtest"}}}},
                                      {{"name", "users"},
                                       {"count", 3},
                                       {"role", "observer"},
                                       {"node", {{"program", "litecoin-regtest"}}}}})}}},
            {"backend", {{"name", "ssh"}, {"hosts", (dir / "hosts.json").string()}}}};
  std::ofstream{dir / "s.json"} << s.dump(2);
  auto o = troupe::test::troupe_cli("topology " + shell_quote((dir / "s.json").string()) +
                                    " --backend ssh");
  EXPECT_EQ(o.code, 0) << o.out;
  EXPECT_NE(o.out.find("placement on 3 hosts"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("a1 (10.9.0.1:22) [miners]: miners-0 miners-1"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("a2 (10.9.0.2:22): users-0 users-2"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("a3 (10.9.0.3:22): users-1"), std::string::npos) << o.out;
}

// -- real sshd ------------------------------------------------------------------

TEST(ssh_fleet, check_copies_troupe_once_and_starts_an_agent_on_every_host) {
  auto dir = test_root("check");
  troupe::test::sshd_fleet f{dir / "fleet", 3};
  if (!f.error().empty())
    GTEST_SKIP() << f.error();

  f.write_inventory(dir / "hosts.json");
  const auto remote = (dir / "remote").string();
  auto cmd = "fleet check " + shell_quote((dir / "hosts.json").string()) + " --remote-dir " +
             shell_quote(remote) + " --out ";
  auto first = troupe::test::troupe_cli(cmd + shell_quote((dir / "run1").string()));
  ASSERT_EQ(first.code, 0) << first.out;
  for (auto& h : f.hosts())
    EXPECT_NE(
      first.out.find(h.name() + " (" + h.address + ":" + std::to_string(h.port) + "): ok: troupe "),
      std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find("troupe copied"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("3 of 3 hosts usable; every agent stopped"), std::string::npos);
  // The second run finds this build there on every host (by sha256) and sends nothing.
  auto second = troupe::test::troupe_cli(cmd + shell_quote((dir / "run2").string()));
  ASSERT_EQ(second.code, 0) << second.out;
  EXPECT_EQ(second.out.find("troupe copied"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("troupe already there"), std::string::npos) << second.out;
  // Each agent said hello over ssh, served, and stopped at EOF (its log on the host says so).
  for (auto& h : f.hosts()) {
    auto log =
      f.ssh_command(&h - &f.hosts()[0], "cat " + remote + "/runs/run2/" + h.name() + "/agent.log");
    auto o = shell(log, 30);
    EXPECT_NE(o.out.find("serving on stdio"), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("stopped (every node and relay it started)"), std::string::npos) << o.out;
  }
}

TEST(ssh_fleet, each_bad_host_is_one_sentence_and_exit_2) {
  auto dir = test_root("bad");
  troupe::test::sshd_fleet f{dir / "fleet", 2};
  if (!f.error().empty())
    GTEST_SKIP() << f.error();

  auto run = [&](const json& inv, const std::string& extra = "") {
    std::ofstream{dir / "hosts.json"} << inv.dump(2);
    return troupe::test::troupe_cli("fleet check " + shell_quote((dir / "hosts.json").string()) +
                                    " --remote-dir " + shell_quote((dir / "remote").string()) +
                                    " --out " + shell_quote((dir / "run").string()) + extra);
  };
  const auto& h0 = f.hosts()[0];
  const auto& h1 = f.hosts()[1];
  // A key the host does not accept: host 1's key offered to host 0.
  auto wrong = f.inventory();
  wrong["hosts"][0]["identity"] = h1.identity.string();
  auto o = run(wrong);
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("troupe: host " + h0.name() + " (" + h0.address + ":" +
                       std::to_string(h0.port) + ") refused the key " + h1.identity.string() +
                       " for user root: add its .pub to that user's authorized_keys"),
            std::string::npos)
    << o.out;
  // A host key nobody recorded, checked strictly.
  auto strict = f.inventory();
  std::ofstream{dir / "empty_known_hosts"};
  strict["known_hosts"] = (dir / "empty_known_hosts").string();
  o = run(strict);
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("is not in " + (dir / "empty_known_hosts").string() +
                       " (host keys are checked strictly): add its key (ssh-keyscan"),
            std::string::npos)
    << o.out;
  // ... which accept-new takes (and records in the run's own known_hosts).
  o = run(strict, " --host-keys accept-new");
  EXPECT_EQ(o.code, 0) << o.out;
  EXPECT_TRUE(troupe::test::file_contains(dir / "run" / "ssh" / "known_hosts", h0.address));
  // An unreachable host: its sshd stopped. Without hosts_min the run fails; with it, it goes
  // on without that host.
  f.stop_host(1);
  o = run(f.inventory());
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("troupe: host " + h1.name() + " (" + h1.address + ":" +
                       std::to_string(h1.port) + ") refused the connection on port " +
                       std::to_string(h1.port) + ": start sshd there"),
            std::string::npos)
    << o.out;
  o = run(f.inventory(), " --hosts-min 1");
  EXPECT_EQ(o.code, 0) << o.out;
  EXPECT_NE(o.out.find(h1.name() + " (" + h1.address + ":" + std::to_string(h1.port) +
                       "): not used: host "),
            std::string::npos)
    << o.out;
  EXPECT_NE(o.out.find("1 of 2 hosts usable"), std::string::npos) << o.out;
}

// -- no orphans -----------------------------------------------------------------

namespace {

/// The orchestrator of the kill -9 test, run as a child process of the test (this binary
/// with a filter and TROUPE_SSH_ORCHESTRATOR=DIR): it reaches the fleet of DIR/hosts.json,
/// starts one `sleep` node on every host through that host's agent, writes the node PIDs to
/// DIR/nodes.txt and waits to be killed.
void run_orchestrator(const fs::path& dir) {
  fleet_options o;
  o.run_dir = dir / "run";
  o.remote_dir = (dir / "remote").string();
  o.troupe_binary = troupe::test::troupe_binary();
  fleet f{load_inventory(dir / "hosts.json"), o};
  f.connect();
  std::vector<std::shared_ptr<troupe::backends::agent::remote_supervisor>> sups;
  for (size_t i = 0; i < f.hosts().size(); ++i)
    sups.push_back(std::make_shared<troupe::backends::agent::remote_supervisor>());
  f.start_agents([&](size_t i) { return [sup = sups[i]](const json& e) { sup->on_event(e); }; });
  std::ofstream out{dir / "nodes.tmp"};
  for (size_t i = 0; i < f.hosts().size(); ++i) {
    sups[i]->attach(f.hosts()[i].agent);
    troupe::backends::local::process_options p;
    p.id = "sleeper-" + std::to_string(i);
    p.binary = "/bin/sleep";
    p.args = {"600"};
    p.cwd = f.remote_run_dir(i);
    p.log_path = f.remote_run_dir(i) + "/sleeper.log";
    p.pid_path = f.remote_run_dir(i) + "/sleeper.pid";
    sups[i]->start(sups[i]->add(p));
    out << f.hosts()[i].host.name << " " << sups[i]->pid(0) << "\n";
  }
  out.close();
  fs::rename(dir / "nodes.tmp", dir / "nodes.txt");
  for (;;)
    std::this_thread::sleep_for(std::chrono::seconds(1)); // until kill -9
}

} // namespace

TEST(ssh_fleet_child, orchestrator) {
  const char* dir = std::getenv("TROUPE_SSH_ORCHESTRATOR");
  if (!dir)
    GTEST_SKIP() << "the orchestrator of ssh_fleet.kill_9_of_troupe_leaves_nothing_on_any_host, "
                    "run only by that test";
  run_orchestrator(dir);
}

TEST(ssh_fleet, kill_9_of_troupe_leaves_nothing_on_any_host) {
  auto dir = test_root("kill9");
  troupe::test::sshd_fleet f{dir / "fleet", 3};
  if (!f.error().empty())
    GTEST_SKIP() << f.error();

  f.write_inventory(dir / "hosts.json");
  pid_t child = ::fork();
  if (child == 0) {
    ::setenv("TROUPE_SSH_ORCHESTRATOR", dir.c_str(), 1);
    const auto self = fs::read_symlink("/proc/self/exe").string();
    ::execl(self.c_str(), self.c_str(), "--gtest_filter=ssh_fleet_child.orchestrator", nullptr);
    ::_exit(127);
  }
  ASSERT_GT(child, 0);
  const bool up = troupe::test::wait_until([&] { return fs::exists(dir / "nodes.txt"); },
                                           std::chrono::seconds(90), std::chrono::milliseconds(50));
  std::vector<std::pair<std::string, std::string>> nodes; // host name, node PID
  std::ifstream in{dir / "nodes.txt"};
  for (std::string name, pid; in >> name >> pid;)
    nodes.emplace_back(name, pid);
  auto alive_on = [&](size_t i, const std::string& pid) { return f.alive_on(i, pid); };
  std::vector<std::string> agents;
  for (size_t i = 0; i < f.hosts().size(); ++i) {
    auto text =
      troupe::test::file_text(dir / "remote" / "runs" / "run" / f.hosts()[i].name() / "agent.pid");
    agents.push_back(text.substr(0, text.find('\n')));
  }
  // Both kinds of process run on each host before the kill, by their PIDs there.
  for (size_t i = 0; up && i < nodes.size() && i < agents.size(); ++i) {
    EXPECT_TRUE(alive_on(i, nodes[i].second))
      << nodes[i].first << ": "
      << shell(f.ssh_command(i, "cat /proc/" + nodes[i].second + "/stat"), 30).out;
    EXPECT_TRUE(alive_on(i, agents[i])) << nodes[i].first;
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(up) << "the orchestrator did not start its nodes";
  ASSERT_EQ(nodes.size(), 3u);
  for (size_t i = 0; i < f.hosts().size(); ++i) {
    const auto& agent = agents[i];
    ASSERT_FALSE(agent.empty());
    const auto& node = nodes[i].second;
    EXPECT_TRUE(troupe::test::wait_until([&] { return !alive_on(i, node) && !alive_on(i, agent); },
                                         std::chrono::seconds(60), std::chrono::milliseconds(200)))
      << f.hosts()[i].name() << ": node " << node << " or agent " << agent << " still runs";
  }
}

// -- troupe run / validate ------------------------------------------------------

TEST(ssh_backend, params_are_checked_with_their_paths) {
  auto dir = test_root("params");
  json s = {
    {"name", "p"},
    {"topology",
     {{"groups",
       json::array({{{"name", "n"}, {"count", 1}, {"node", {{"program", "litecoin-regtest"}}}}})}}},
    {"backend", {{"name", "ssh"}, {"parallel", 0}, {"placemnt", {}}}}};
  std::ofstream{dir / "s.json"} << s.dump(2);
  auto o = troupe::test::troupe_cli("validate " + shell_quote((dir / "s.json").string()));
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("backend.hosts: is required"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("backend.parallel: must be an integer in 1..1024"), std::string::npos)
    << o.out;
  EXPECT_NE(o.out.find("backend.placemnt: unknown key"), std::string::npos) << o.out;
}

TEST(ssh_backend, validate_leaves_etcds_network_faults_to_the_hosts_agents) {
  // etcd's network faults need a network namespace per member, which each host's agent makes;
  // whether a host can is its agent's answer once the run reaches it (agent_netns_test.cpp),
  // so before the run nothing is refused.
  auto o = troupe::test::troupe_cli("validate " + troupe::test::source_dir() +
                                    "/scenarios/etcd-faults-local.json --backend ssh --strict");
  EXPECT_EQ(o.code, 0) << o.out;
  EXPECT_NE(o.out.find("backend ssh can do every control and fault it asks for"), std::string::npos)
    << o.out;
  // Nor does it name what litecoind does through the relays.
  auto l = troupe::test::troupe_cli("validate " + troupe::test::source_dir() +
                                    "/scenarios/litecoin-ssh.json");
  EXPECT_EQ(l.code, 0) << l.out;
  EXPECT_EQ(l.out.find("cannot do it"), std::string::npos) << l.out;
}
