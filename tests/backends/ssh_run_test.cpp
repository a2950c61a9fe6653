// `troupe run` on the ssh backend, on a fleet of real sshd on 127.0.0.2, 127.0.0.3, ...
// (tests/support/sshd_fleet.hpp): scenarios/litecoin-ssh.json (four litecoind on four hosts:
// partitions, a one-way cut and a clog through the relays of each host's agent, a restart, a
// clock skew) passes; etcd-local.json on three hosts (only the backend line changed, and the
// agents polling) passes; etcd-faults-local.json on three hosts passes with every network fault
// applied through the network namespaces each host's agent made for its member; and `kill -9`,
// SIGINT or SIGTERM of troupe mid-run leaves no node, no agent process and no network
// namespace of the run on any host, checked by PID there and by `ip netns list`.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backends/agent/connection.hpp"
#include "backends/agent/netns.hpp"
#include "tests/backends/etcd_faults_report.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/sshd_fleet.hpp"
#include "tests/support/troupe_child.hpp"
#include "tests/support/wait.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

/// build/test-runs/ssh-run-NAME, emptied.
fs::path test_root(const std::string& name) {
  auto d = fs::path(troupe::test::build_dir()) / "test-runs" / ("ssh-run-" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

json read_json(const fs::path& p) {
  std::ifstream in{p};
  return json::parse(in);
}

/// The scenario file `name` of scenarios/, its backend the ssh backend on fleet `f` (its
/// inventory written to DIR/hosts.json, the hosts' files under DIR/remote), written to DIR.
fs::path on_fleet(const std::string& name, const troupe::test::sshd_fleet& f, const fs::path& dir,
                  const std::function<void(json&)>& edit = {}) {
  auto doc = read_json(troupe::test::source_dir() + "/scenarios/" + name);
  f.write_inventory(dir / "hosts.json");
  auto backend = doc["backend"];
  backend["name"] = "ssh";
  backend["hosts"] = (dir / "hosts.json").string();
  backend["remote_dir"] = (dir / "remote").string();
  doc["backend"] = backend;
  if (edit)
    edit(doc);
  auto path = dir / name;
  std::ofstream{path} << doc.dump(2);
  return path;
}

struct run_child {
  pid_t pid = -1;
  fs::path out;
  fs::path log;
};

run_child start_run(const fs::path& scenario, const fs::path& dir) {
  run_child r;
  r.out = dir / "run";
  r.log = dir / "troupe.out";
  r.pid =
    troupe::test::start_troupe_child({"run", scenario.string(), "--out", r.out.string()}, r.log);
  return r;
}

/// RUN on host `i` for the run directory `out` (backends/ssh/fleet.hpp).
fs::path remote_run(const troupe::test::sshd_fleet& f, const fs::path& dir, size_t i,
                    const fs::path& out) {
  return dir / "remote" / "runs" / out.filename() / f.hosts()[i].name();
}

std::string pid_in(const fs::path& p) {
  auto text = troupe::test::file_text(p);
  return text.substr(0, text.find('\n'));
}

/// (host index, PID) of every agent and every node the run started, by the PID files on each
/// host (named `names`).
std::vector<std::pair<size_t, std::string>> processes_of(const std::vector<std::string>& names,
                                                         const fs::path& dir, const fs::path& out) {
  std::vector<std::pair<size_t, std::string>> all;
  for (size_t i = 0; i < names.size(); ++i) {
    auto run = dir / "remote" / "runs" / out.filename() / names[i];
    if (auto a = pid_in(run / "agent.pid"); !a.empty())
      all.emplace_back(i, a);
    std::error_code ec;
    for (auto it = fs::directory_iterator(run / "nodes", ec); !ec && it != fs::directory_iterator();
         it.increment(ec))
      if (it->path().extension() == ".pid")
        if (auto p = pid_in(it->path()); !p.empty())
          all.emplace_back(i, p);
  }
  return all;
}

std::vector<std::pair<size_t, std::string>> processes_of(const troupe::test::sshd_fleet& f,
                                                         const fs::path& dir, const fs::path& out) {
  std::vector<std::string> names;
  for (const auto& h : f.hosts())
    names.push_back(h.name());
  return processes_of(names, dir, out);
}

/// Waits (bounded) until none of `procs` runs on its host; the ones still running.
std::vector<std::string> still_running(const troupe::test::sshd_fleet& f,
                                       const std::vector<std::pair<size_t, std::string>>& procs) {
  std::vector<std::string> left;
  troupe::test::wait_until(
    [&] {
      left.clear();
      for (const auto& [i, pid] : procs)
        if (f.alive_on(i, pid))
          left.push_back(f.hosts()[i].name() + ":" + pid);
      return left.empty();
    },
    60s, 200ms);
  return left;
}

/// `ip netns list` (the hosts of the fleet share this machine's kernel).
std::string netns_list() { return troupe::test::shell("ip netns list 2>&1", 30).out; }

/// The prefix of the names of run `out`'s namespaces, on every host (netns.hpp).
std::string namespaces_of(const fs::path& out) {
  return "troupe-" + troupe::backends::agent::run_tag(out) + "-";
}

/// Three etcd members in a mesh on `backend`, running `workloads`, expected to make progress.
json three_etcd_members(const std::string& name, const std::string& duration, json backend,
                        json workloads) {
  return {{"name", name},
          {"seed", 3},
          {"duration", duration},
          {"topology",
           {{"layout", "mesh"},
            {"groups",
             json::array({{{"name", "member"}, {"count", 3}, {"node", {{"program", "etcd"}}}}})}}},
          {"backend", std::move(backend)},
          {"workloads", std::move(workloads)},
          {"expectations", json::array({{{"kind", "consensus_liveness"}, {"min_height", 1}}})}};
}

} // namespace

TEST(ssh_run, litecoin_with_partitions_across_four_hosts_passes) {
  auto dir = test_root("litecoin");
  troupe::test::sshd_fleet f{dir / "fleet", 4};
  if (!f.error().empty())
    GTEST_SKIP() << f.error();

  auto r = start_run(on_fleet("litecoin-ssh.json", f, dir), dir);
  ASSERT_EQ(troupe::test::wait_exit(r.pid, 280s), 0) << troupe::test::file_text(r.log);
  auto report = read_json(r.out / "report.json");
  EXPECT_EQ(report["verdict"], "pass") << report["expectations"].dump(2);
  std::vector<std::string> faults;
  for (const auto& x : report["faults"])
    faults.push_back(x["action"]);
  EXPECT_EQ(faults, (std::vector<std::string>{"set_link", "partition", "partition (one-way)",
                                              "clog", "restart", "clock_skew"}))
    << report["faults"].dump(2);
  EXPECT_TRUE(report["refusals"].empty()) << report["refusals"].dump(2);

  // One node per host, started there by its host's agent: its log stayed on the host, and
  // its tail is here.
  ASSERT_EQ(report["hosts"].size(), 4u) << report.dump(2).substr(0, 3000);
  for (const auto& h : report["hosts"]) {
    const auto i = f.index_of(h["name"]);
    ASSERT_LT(i, f.hosts().size()) << h.dump();
    EXPECT_EQ(h["address"], f.hosts()[i].address);
    ASSERT_EQ(h["nodes"].size(), 1u) << h.dump();
    const auto id = h["nodes"][0].get<std::string>();
    auto tail = troupe::test::file_text(r.out / "nodes" / (id + ".log"));
    EXPECT_NE(tail.find("UpdateTip"), std::string::npos) << id;
    EXPECT_LE(tail.size(), 65536u);
    EXPECT_TRUE(fs::exists(remote_run(f, dir, i, r.out) / "nodes" / (id + ".log"))) << id;
  }
  // The relays of the 12 directed links of a 4-node mesh, each on its dialer's host: the
  // partition cut connections, the one-way cut dropped bytes, the clog held some.
  const auto& fabric = report["fabric"];
  ASSERT_TRUE(fabric.is_object()) << report.dump(2).substr(0, 2000);
  EXPECT_EQ(fabric["relays"], 12);
  EXPECT_EQ(fabric["links"].size(), 12u);
  EXPECT_GT(fabric["totals"]["connections_cut"].get<uint64_t>(), 0u);
  EXPECT_GT(fabric["totals"]["bytes_dropped"].get<uint64_t>(), 0u);
  EXPECT_GT(fabric["totals"]["bytes_held_total"].get<uint64_t>(), 0u);
  for (const auto& l : fabric["links"])
    EXPECT_EQ(l["latency_ms"], 80.0) << l.dump();
  // Nothing is left on any host: every agent and every node (the restarted one's last
  // process included) by its PID there.
  auto left = still_running(f, processes_of(f, dir, r.out));
  EXPECT_TRUE(left.empty()) << ::testing::PrintToString(left);
}

TEST(ssh_run, etcd_cluster_across_three_hosts_passes) {
  auto dir = test_root("etcd");
  troupe::test::sshd_fleet f{dir / "fleet", 3};
  if (!f.error().empty())
    GTEST_SKIP() << f.error();

  // etcd-local.json with only its backend line changed; each host's agent polls its member
  // (the litecoin run has troupe poll them).
  auto r = start_run(
    on_fleet("etcd-local.json", f, dir, [](json& s) { s["backend"]["poll"] = "agent"; }), dir);
  ASSERT_EQ(troupe::test::wait_exit(r.pid, 200s), 0) << troupe::test::file_text(r.log);
  auto report = read_json(r.out / "report.json");
  EXPECT_EQ(report["verdict"], "pass") << report["expectations"].dump(2);
  EXPECT_TRUE(report["refusals"].empty()) << report["refusals"].dump(2);
  ASSERT_EQ(report["hosts"].size(), 3u);
  for (const auto& h : report["hosts"])
    EXPECT_EQ(h["nodes"].size(), 1u) << h.dump();
  auto left = still_running(f, processes_of(f, dir, r.out));
  EXPECT_TRUE(left.empty()) << ::testing::PrintToString(left);
}

TEST(ssh_run, etcd_faults_across_three_hosts_pass_through_each_hosts_namespaces) {
  if (auto why = troupe::backends::agent::netns_refusal())
    GTEST_SKIP() << *why;
  auto dir = test_root("etcd-faults");
  troupe::test::sshd_fleet f{dir / "fleet", 3};
  if (!f.error().empty())
    GTEST_SKIP() << f.error();

  // etcd-faults-local.json with only its backend line changed: each host's agent makes the
  // namespace of its member, the relays of a member's links are on its own host and reach a
  // peer on another host at that host's address.
  auto r = start_run(on_fleet("etcd-faults-local.json", f, dir), dir);
  const auto mine = namespaces_of(r.out);
  ASSERT_EQ(troupe::test::wait_exit(r.pid, 240s), 0) << troupe::test::file_text(r.log);
  auto report = read_json(r.out / "report.json");
  troupe::backends::testing::expect_every_etcd_network_fault(report);
  ASSERT_EQ(report["hosts"].size(), 3u);
  for (const auto& h : report["hosts"])
    EXPECT_EQ(h["nodes"].size(), 1u) << h.dump();
  // Each member ran in its namespace, made by its own host's agent (its rules file is there).
  for (size_t i = 0; i < f.hosts().size(); ++i)
    for (const auto& id : report["hosts"][i]["nodes"])
      EXPECT_TRUE(
        fs::exists(remote_run(f, dir, i, r.out) / "nodes" / (id.get<std::string>() + ".nft")))
        << f.hosts()[i].name() << ": " << id;
  auto left = still_running(f, processes_of(f, dir, r.out));
  EXPECT_TRUE(left.empty()) << ::testing::PrintToString(left);
  EXPECT_EQ(netns_list().find(mine), std::string::npos) << netns_list();
}

/// SIGKILL: troupe tears nothing down, its ssh sessions drop with it. SIGINT and SIGTERM: it
/// tears down in order.
class ssh_run_signal : public ::testing::TestWithParam<int> {};

TEST_P(ssh_run_signal, of_troupe_mid_run_leaves_no_node_and_no_agent_on_any_host) {
  auto dir = test_root("signal-" + std::to_string(GetParam()));
  troupe::test::sshd_fleet f{dir / "fleet", 3};
  if (!f.error().empty())
    GTEST_SKIP() << f.error();

  auto r =
    start_run(on_fleet("etcd-local.json", f, dir, [](json& s) { s["duration"] = "10m"; }), dir);
  const auto mine = namespaces_of(r.out);
  // Deployed: the run is under way, with an agent and a node on every host.
  std::vector<std::pair<size_t, std::string>> procs;
  ASSERT_TRUE(troupe::test::wait_until(
    [&] {
      procs = processes_of(f, dir, r.out);
      return procs.size() == 6 &&
             troupe::test::file_contains(r.out / "troupe.log", "deployed 3 nodes");
    },
    120s, 200ms))
    << troupe::test::file_text(r.log);
  for (const auto& [i, pid] : procs)
    ASSERT_TRUE(f.alive_on(i, pid)) << f.hosts()[i].name() << ":" << pid;
  // Each member in the namespace its host's agent made (as root).
  if (!troupe::backends::agent::netns_refusal()) {
    for (size_t i = 0; i < f.hosts().size(); ++i)
      EXPECT_NE(netns_list().find(mine + std::to_string(i)), std::string::npos) << netns_list();
  }
  // Each member listens on its own host's address (its command line there says so).
  for (size_t i = 0; i < f.hosts().size(); ++i) {
    auto nodes = remote_run(f, dir, i, r.out) / "nodes";
    auto cmdline = troupe::test::shell(
      f.ssh_command(i, "for p in " + nodes.string() +
                         "/*.pid; do tr '\\0' ' ' < /proc/$(cat $p)/cmdline; done"),
      30);
    EXPECT_NE(cmdline.out.find("--listen-client-urls=http://" + f.hosts()[i].address + ":"),
              std::string::npos)
      << cmdline.out;
  }
  ::kill(r.pid, GetParam());
  const int code = troupe::test::wait_exit(r.pid, 120s);
  if (GetParam() != SIGKILL) {
    EXPECT_NE(code, -1) << "troupe exits after the signal";
    EXPECT_NE(code, 0);
    ASSERT_TRUE(fs::exists(r.out / "report.json")) << troupe::test::file_text(r.log);
    EXPECT_EQ(read_json(r.out / "report.json")["verdict"], "interrupted");
  }
  // Torn down, or the ssh sessions dropped with troupe: each agent stopped its node and
  // removed the namespace it made for it.
  auto left = still_running(f, procs);
  EXPECT_TRUE(left.empty()) << ::testing::PrintToString(left);
  if (!troupe::backends::agent::netns_refusal()) {
    EXPECT_TRUE(troupe::test::wait_until(
      [&] { return netns_list().find(mine) == std::string::npos; }, 60s, 200ms))
      << netns_list();
  }
}

INSTANTIATE_TEST_SUITE_P(ssh_run, ssh_run_signal, ::testing::Values(SIGKILL, SIGINT, SIGTERM),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return p.param == SIGKILL  ? std::string("kill_9")
                                  : p.param == SIGINT ? std::string("sigint")
                                                      : std::string("sigterm");
                         });

// Node-side commands on two ssh hosts meet at a barrier of the run's sync service: a command on
// a host dials 127.0.0.1 there, which on a real fleet is not troupe's machine, so each host's
// ssh connection forwards a port of its own back to the service (TROUPE_SYNC_URL names it).
TEST(ssh_run, commands_on_two_hosts_meet_at_a_barrier_through_each_hosts_forward) {
  if (troupe::test::shell("command -v etcd", 10).code != 0)
    GTEST_SKIP() << "etcd is not installed (scripts/setup.sh installs etcd-server)";
  auto dir = test_root("commands");
  troupe::test::sshd_fleet f{dir / "fleet", 2};
  if (!f.error().empty())
    GTEST_SKIP() << f.error();
  f.write_inventory(dir / "hosts.json");
  const std::string cli = troupe::test::shell_quote(troupe::test::troupe_binary());
  json commands =
    json::array({{{"name", "where"}, {"nodes", "all"}, {"run", "echo \"$TROUPE_SYNC_URL\""}},
                 {{"name", "meet"},
                  {"nodes", "all"},
                  {"run", cli + " sync barrier met 3 --timeout 1m && echo met"}}});
  auto s = three_etcd_members("ssh-commands", "20s",
                              {{"name", "ssh"},
                               {"hosts", (dir / "hosts.json").string()},
                               {"remote_dir", (dir / "remote").string()}},
                              json::array({{{"kind", "commands"}, {"commands", commands}}}));
  std::ofstream{dir / "commands.json"} << s.dump(2);
  auto r = start_run(dir / "commands.json", dir);
  ASSERT_EQ(troupe::test::wait_exit(r.pid, 200s), 0) << troupe::test::file_text(r.log);
  auto report = read_json(r.out / "report.json");
  const auto log = troupe::test::file_text(r.out / "troupe.log");
  const auto at = log.find("sync service on http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string own = log.substr(at + 16, log.find(" ", at + 16) - (at + 16));
  std::set<std::string> urls;
  size_t met = 0;
  for (const auto& c : report["commands"]) {
    EXPECT_EQ(c["exit_code"], 0) << c.dump();
    const auto tail = c["tail"].get<std::string>();
    if (c["name"] == "where") {
      // A forward on the node's host, not the service's own address.
      EXPECT_EQ(tail.rfind("http://127.0.0.1:", 0), 0u) << tail;
      EXPECT_NE(tail, own + "\n") << "the host was handed troupe's own address";
      urls.insert(tail);
    } else if (tail.find("met\n") != std::string::npos) {
      ++met;
    }
  }
  EXPECT_EQ(urls.size(), 2u) << "one forward per host: " << ::testing::PrintToString(urls);
  EXPECT_EQ(met, 3u) << report["commands"].dump(2);
  auto left = still_running(f, processes_of(f, dir, r.out));
  EXPECT_TRUE(left.empty()) << ::testing::PrintToString(left);
}

// -- hosts from a provisioner, with a time-to-live ----------------------------------------
// scripts/provisioners/sshd-on-loopback.py makes each "host" an sshd of its own on
// 127.0.0.N of this machine, so the processes on the hosts are checked here by PID.

namespace {

const std::vector<std::string> provisioned_names{"p30", "p31", "p32"};

/// Whether process `pid` runs (and is not a zombie) on this machine.
bool alive_here(const std::string& pid) {
  std::ifstream in{"/proc/" + pid + "/stat"};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

/// Every sshd the provisioner started for the run `out` (their PID files, while they run).
std::vector<std::string> sshd_pids(const fs::path& out) {
  std::vector<std::string> pids;
  for (const auto& name : {"host30", "host31", "host32"})
    if (auto p = pid_in(out / "provisioner" / name / "sshd.pid"); !p.empty())
      pids.push_back(p);
  return pids;
}

/// Waits (bounded) until none of `pids` runs here; the ones still running.
std::vector<std::string> running_here(const std::vector<std::string>& pids) {
  std::vector<std::string> left;
  troupe::test::wait_until(
    [&] {
      left.clear();
      for (const auto& p : pids)
        if (alive_here(p))
          left.push_back(p);
      return left.empty();
    },
    60s, 100ms);
  return left;
}

/// Fails the test with the PIDs of `pids` still running here after the bounded wait.
void expect_gone(const std::vector<std::string>& pids) {
  auto left = running_here(pids);
  EXPECT_TRUE(left.empty()) << ::testing::PrintToString(left);
}

/// Three etcd members on three provisioned hosts for `duration`, written to DIR/NAME.json.
fs::path provisioned_scenario(const fs::path& dir, const std::string& name,
                              const std::string& duration, const std::string& ttl,
                              std::string create = {}) {
  const auto script = troupe::test::source_dir() + "/scripts/provisioners/sshd-on-loopback.py";
  if (create.empty())
    create = "python3 " + script + " create";
  auto s = three_etcd_members(
    name, duration,
    {{"name", "ssh"},
     {"remote_dir", (dir / "remote").string()},
     {"poll_interval", "500ms"},
     {"provisioner",
      {{"create", create}, {"destroy", "python3 " + script + " destroy"}, {"ttl", ttl}}}},
    json::array());
  auto path = dir / (name + ".json");
  std::ofstream{path} << s.dump(2);
  return path;
}

std::string provisioner_refusal() {
  if (::geteuid() != 0)
    return "the test provisioner starts sshd, which accepts root logins only when started by "
           "root; run the ssh tests as root";
  if (troupe::test::shell("command -v etcd && command -v python3 && test -x /usr/sbin/sshd", 10)
        .code != 0)
    return "etcd, python3 or sshd is missing (scripts/setup.sh installs them)";
  return {};
}

/// Waits until the run is deployed; the PIDs of its sshd, agents and nodes then.
std::vector<std::string> deployed_processes(const run_child& r, const fs::path& dir) {
  std::vector<std::string> pids;
  EXPECT_TRUE(troupe::test::wait_until(
    [&] {
      return troupe::test::file_contains(r.out / "troupe.log", "deployed 3 nodes") &&
             processes_of(provisioned_names, dir, r.out).size() == 6;
    },
    180s, 200ms))
    << troupe::test::file_text(r.log);
  pids = sshd_pids(r.out);
  EXPECT_EQ(pids.size(), 3u);
  for (const auto& [i, pid] : processes_of(provisioned_names, dir, r.out))
    pids.push_back(pid);
  return pids;
}

/// A `troupe run` of provisioned_scenario() in a fresh test directory, once deployed: its
/// directory, the child, and the PIDs of its sshd, agents and nodes.
struct provisioned_run {
  fs::path dir;
  run_child r;
  std::vector<std::string> pids;
};
provisioned_run start_provisioned(const std::string& name, const std::string& duration,
                                  const std::string& ttl) {
  provisioned_run p;
  p.dir = test_root(name);
  p.r = start_run(provisioned_scenario(p.dir, name, duration, ttl), p.dir);
  p.pids = deployed_processes(p.r, p.dir);
  return p;
}

} // namespace

TEST(ssh_provision, a_run_creates_uses_and_destroys_its_hosts) {
  if (auto why = provisioner_refusal(); !why.empty())
    GTEST_SKIP() << why;
  auto [dir, r, pids] = start_provisioned("provisioned", "10s", "10m");
  ASSERT_EQ(troupe::test::wait_exit(r.pid, 200s), 0) << troupe::test::file_text(r.log);
  auto report = read_json(r.out / "report.json");
  EXPECT_EQ(report["verdict"], "pass");
  ASSERT_EQ(report["hosts"].size(), 3u) << report["hosts"].dump();
  auto record = read_json(r.out / "provisioned.json");
  EXPECT_TRUE(record["destroyed"].get<bool>()) << record.dump(2);
  EXPECT_GT(record["expires_at"].get<int64_t>(), record["created_at"].get<int64_t>());
  // Every host's sshd, agent and node is gone: destroy ran, and the agents ended before it.
  expect_gone(pids);
}

TEST(ssh_provision, a_ttl_shorter_than_the_run_ends_it_with_the_reason_and_destroys_the_hosts) {
  if (auto why = provisioner_refusal(); !why.empty())
    GTEST_SKIP() << why;
  auto [dir, r, pids] = start_provisioned("short-lived", "10m", "40s");
  const int code = troupe::test::wait_exit(r.pid, 200s);
  EXPECT_NE(code, 0) << troupe::test::file_text(r.log);
  EXPECT_NE(code, -1) << "the run ends at the time-to-live, well before its 10 minutes";
  ASSERT_TRUE(fs::exists(r.out / "report.json")) << troupe::test::file_text(r.log);
  const auto error = read_json(r.out / "report.json")["error"];
  ASSERT_TRUE(error.is_string()) << error;
  EXPECT_NE(error.get<std::string>().find("time-to-live (backend.provisioner.ttl 40s) ran out"),
            std::string::npos)
    << error;
  EXPECT_TRUE(read_json(r.out / "provisioned.json")["destroyed"].get<bool>());
  expect_gone(pids);
}

TEST(ssh_provision, kill_9_of_troupe_leaves_hosts_that_fleet_gc_destroys) {
  if (auto why = provisioner_refusal(); !why.empty())
    GTEST_SKIP() << why;
  auto [dir, r, pids] = start_provisioned("orphaned", "10m", "10m");
  auto sshd = sshd_pids(r.out);
  ::kill(r.pid, SIGKILL);
  troupe::test::wait_exit(r.pid, 30s);
  // The sessions dropped with troupe: the agents stopped their nodes; the hosts still run.
  for (const auto& p : sshd)
    EXPECT_TRUE(alive_here(p)) << "sshd " << p << " stays until something destroys it";
  // A new run in that directory would empty it, and lose the record: refused.
  auto reuse = start_run(dir / "orphaned.json", dir);
  EXPECT_EQ(troupe::test::wait_exit(reuse.pid, 60s), 2);
  EXPECT_TRUE(troupe::test::file_contains(reuse.log, "records provisioned hosts that were not "
                                                     "destroyed (its run was killed)"))
    << troupe::test::file_text(reuse.log);
  const auto cli = troupe::test::shell_quote(troupe::test::troupe_binary());
  auto dry = troupe::test::shell(cli + " fleet gc --dry-run " + dir.string(), 60);
  EXPECT_EQ(dry.code, 0) << dry.out;
  EXPECT_NE(dry.out.find("would destroy its hosts (its orchestrator is gone)"), std::string::npos)
    << dry.out;
  for (const auto& p : sshd)
    EXPECT_TRUE(alive_here(p)) << "--dry-run destroys nothing";
  auto gc = troupe::test::shell(cli + " fleet gc " + dir.string(), 120);
  EXPECT_EQ(gc.code, 0) << gc.out;
  EXPECT_NE(gc.out.find("destroyed its hosts (its orchestrator is gone)"), std::string::npos)
    << gc.out;
  expect_gone(pids);
  auto again = troupe::test::shell(cli + " fleet gc " + dir.string(), 60);
  EXPECT_NE(again.out.find("no provisioned hosts left to destroy"), std::string::npos) << again.out;
}

TEST(ssh_provision, a_create_that_fails_or_prints_no_hosts_is_one_sentence_and_exit_2) {
  auto dir = test_root("provision-bad");
  fs::create_directories(dir / "chatty");
  auto failing =
    start_run(provisioned_scenario(dir, "no-cloud", "10s", "10m",
                                   "sh -c 'echo no credentials for this cloud >&2; exit 3'"),
              dir);
  EXPECT_EQ(troupe::test::wait_exit(failing.pid, 60s), 2);
  EXPECT_TRUE(troupe::test::file_contains(
    failing.log, "the provisioner's create command failed (exit 3): no credentials for this "
                 "cloud; check backend.provisioner.create"))
    << troupe::test::file_text(failing.log);
  auto chatty =
    start_run(provisioned_scenario(dir, "chatty", "10s", "10m", "echo hello"), dir / "chatty");
  EXPECT_EQ(troupe::test::wait_exit(chatty.pid, 60s), 2);
  EXPECT_TRUE(troupe::test::file_contains(chatty.log,
                                          "the provisioner's create command printed no inventory"))
    << troupe::test::file_text(chatty.log);
}

TEST(ssh_provision, an_agent_stops_on_its_own_at_its_expiry) {
  // Its orchestrator stays and tells it nothing: the host's time-to-live still holds.
  auto dir = test_root("agent-expiry");
  const auto expires = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() +
                       2;
  troupe::backends::agent::stdio_channel ch;
  ch.argv = {troupe::test::troupe_binary(), "agent", "--stdio", "--expires-at",
             std::to_string(expires)};
  ch.log_path = dir / "agent.log";
  ch.pid_path = dir / "agent.pid";
  auto c = troupe::backends::agent::connection::start_stdio(ch, {});
  const auto pid = std::to_string(c->agent_pid());
  EXPECT_TRUE(troupe::test::wait_until([&] { return !alive_here(pid); }, 60s, 100ms))
    << troupe::test::file_text(ch.log_path);
  EXPECT_TRUE(troupe::test::file_contains(ch.log_path, "time-to-live ran out"))
    << troupe::test::file_text(ch.log_path);
  EXPECT_TRUE(troupe::test::wait_until([&] { return !c->broken().empty(); }, 30s, 50ms))
    << "the orchestrator's side sees the agent gone";
  c->close();
}
