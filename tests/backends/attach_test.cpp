// The attach backend against etcd members the test starts itself (troupe starts nothing):
// from a list, and through a signed discovery registry with a member joining and one leaving
// mid-run; every control and fault refused with the reason; teardown leaves the members
// running.

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/json_read.hpp"
#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "tests/support/observability_helpers.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/sockets.hpp"
#include "tests/support/wait.hpp"

using namespace std::chrono_literals;
using namespace troupe;
using nlohmann::json;
using troupe::test::child;

namespace {

/// A real etcd cluster of `n` members (every write replicated to all), started and
/// stopped by the test, never by troupe.
struct etcd_cluster {
  std::vector<int> client;
  std::vector<std::unique_ptr<child>> members;

  etcd_cluster(const std::filesystem::path& dir, int n) {
    std::vector<int> peer;
    std::string initial;
    for (int i = 0; i < n; ++i) {
      client.push_back(troupe::test::free_port());
      peer.push_back(troupe::test::free_port());
      initial += (i ? "," : "") + name(i) + "=" + url(peer[i]);
    }
    for (int i = 0; i < n; ++i)
      members.push_back(std::make_unique<child>(
        std::vector<std::string>{
          "/usr/bin/etcd", "--name=" + name(i), "--data-dir=" + (dir / name(i)).string(),
          "--listen-client-urls=" + url(client[i]), "--advertise-client-urls=" + url(client[i]),
          "--listen-peer-urls=" + url(peer[i]), "--initial-advertise-peer-urls=" + url(peer[i]),
          "--initial-cluster=" + initial, "--initial-cluster-state=new", "--log-level=warn"},
        dir / (name(i) + ".log")));
  }
  static std::string name(int i) { return "member-" + std::to_string(i); }
  static std::string url(int port) { return "http://127.0.0.1:" + std::to_string(port); }
  bool ready(size_t i) const {
    return troupe::test::shell("curl -sf " + url(client[i]) + "/health | grep -q true", 5).code ==
           0;
  }
  /// Every member answers healthy (a cluster with a leader), within a minute.
  bool wait_ready() const {
    for (size_t i = 0; i < client.size(); ++i)
      if (!troupe::test::wait_until([&] { return ready(i); }, 60s, 100ms))
        return false;
    return true;
  }
  bool all_running() {
    for (const auto& m : members)
      if (!m->running())
        return false;
    return true;
  }
};

/// A signed discovery registry (`troupe discovery serve`) with one key on its whitelist, and
/// announcers of the cluster's members through it.
struct signed_registry {
  std::filesystem::path dir;
  std::string bin = troupe::test::troupe_binary();
  std::string url;
  std::unique_ptr<child> server;

  explicit signed_registry(const std::filesystem::path& d)
    : dir(d) {
    auto pub = troupe::test::shell(
      troupe::test::shell_quote(bin) + " discovery keygen --out " + (dir / "k.key").string(), 30);
    { std::ofstream{dir / "whitelist"} << pub.out; }
    const int port = troupe::test::free_port();
    url = "http://127.0.0.1:" + std::to_string(port);
    server = std::make_unique<child>(std::vector<std::string>{bin, "discovery", "serve", "--port",
                                                              std::to_string(port), "--whitelist",
                                                              (dir / "whitelist").string(), "--db",
                                                              (dir / "registry.db").string()},
                                     dir / "registry.log");
  }
  ~signed_registry() { server->signal(SIGTERM); }
  bool up() const {
    return troupe::test::wait_until(
      [&] { return troupe::test::file_contains(dir / "registry.log", "registry on "); }, 30s);
  }
  /// `troupe discovery announce` for member i of `c`, every `every`.
  std::unique_ptr<child> announce(const etcd_cluster& c, int i, const std::string& every) const {
    return std::make_unique<child>(
      std::vector<std::string>{bin, "discovery", "announce", "--url", url, "--key",
                               (dir / "k.key").string(), "--id", etcd_cluster::name(i), "--program",
                               "etcd", "--endpoint", "client_port=" + std::to_string(c.client[i]),
                               "--every", every},
      dir / ("announce-" + std::to_string(i) + ".log"));
  }
  /// The registry lists `id` as online.
  bool lists(const std::string& id) const {
    return troupe::test::wait_until(
      [&] {
        return troupe::test::shell("curl -s " + url + "/v1/online | grep -q " + id, 5).code == 0;
      },
      30s);
  }
};

bool have_etcd() {
  return troupe::test::shell("test -x /usr/bin/etcd && command -v curl", 10).code == 0;
}

json attach_scenario(const json& backend, const std::string& duration) {
  return json{
    {"name", "attach-test"},
    {"seed", 4},
    {"duration", duration},
    {"topology",
     {{"layout", {{"kind", "mesh"}}},
      {"groups",
       json::array({{{"name", "member"}, {"count", 3}, {"node", {{"program", "etcd"}}}}})}}},
    {"backend", backend},
    {"workloads",
     json::array(
       {{{"kind", "transactions"}, {"rate", "5/s"}, {"users", 5}, {"target", "all"}},
        {{"kind", "steps"},
         {"steps", json::array({{{"at", "1s"}, {"action", "restart"}, {"nodes", "member-0"}}})}}})},
    {"expectations",
     json::array({{{"kind", "tx_inclusion"}, {"min_ratio", 0.9}, {"exclude_last", "2s"}}})}};
}

} // namespace

TEST(attach, a_listed_network_runs_refuses_every_fault_and_is_left_running) {
  if (!have_etcd())
    GTEST_SKIP() << "etcd (Debian etcd-server) and curl are needed";
  register_catalog();
  const auto dir = troupe::test::fresh_dir("attach-list");
  etcd_cluster cluster{dir, 3};
  json nodes = json::array();
  for (int i = 0; i < 3; ++i)
    nodes.push_back({{"id", etcd_cluster::name(i)},
                     {"program", "etcd"},
                     {"vars", {{"client_port", std::to_string(cluster.client[i])}}}});
  ASSERT_TRUE(cluster.wait_ready());
  auto s = scenario_from_json(attach_scenario({{"name", "attach"}, {"nodes", nodes}}, "6s"));
  // Before any run: validate --backend attach names the restart, with the reason.
  {
    std::ofstream{dir / "s.json"} << to_json(s).dump(2);
    auto v =
      troupe::test::troupe_cli("validate " + (dir / "s.json").string() + " --backend attach");
    EXPECT_NE(v.out.find("controls nothing it did not start"), std::string::npos) << v.out;
  }
  run_request req;
  req.out = dir / "run";
  req.quiet = true;
  auto r = run_scenario(s, req);
  // Every write, sent to any member, is reported final on all three.
  EXPECT_EQ(r.exit_code, 0) << r.report.dump(2).substr(0, 4000);
  ASSERT_EQ(r.report["refusals"].size(), 1u) << r.report["refusals"].dump();
  EXPECT_EQ(r.report["refusals"][0]["action"], "restart");
  EXPECT_TRUE(r.report["faults"].empty());
  EXPECT_GT(r.report["counters"]["txs_submitted"].get<int>(), 10);
  // Teardown touched nothing it did not start: every member still runs and answers.
  EXPECT_TRUE(cluster.all_running());
  for (size_t i = 0; i < 3; ++i)
    EXPECT_TRUE(cluster.ready(i));
}

TEST(attach, nodes_found_through_the_registry_join_and_leave_mid_run) {
  if (!have_etcd())
    GTEST_SKIP() << "etcd (Debian etcd-server) and curl are needed";
  register_catalog();
  const auto dir = troupe::test::fresh_dir("attach-discovery");
  etcd_cluster cluster{dir, 3};
  ASSERT_TRUE(cluster.wait_ready());
  signed_registry reg{dir};
  ASSERT_TRUE(reg.up());
  auto a0 = reg.announce(cluster, 0, "200ms");
  auto a1 = reg.announce(cluster, 1, "200ms");
  ASSERT_TRUE(reg.lists("member-1"));
  auto s = scenario_from_json(attach_scenario({{"name", "attach"},
                                               {"discovery", reg.url},
                                               {"window", "1s"},
                                               {"poll", "200ms"},
                                               {"poll_interval", "200ms"}},
                                              "14s"));
  run_request req;
  req.out = dir / "run";
  req.quiet = true;
  run_result r;
  std::thread run([&] { r = run_scenario(s, req); });
  // Mid-run: member-2 appears, member-1 goes silent (and so leaves the 1s window).
  const auto log = dir / "run" / "troupe.log";
  EXPECT_TRUE(
    troupe::test::wait_until([&] { return troupe::test::file_contains(log, "deployed"); }, 60s));
  // After the refused restart at 1s: the run has been going with two members for a while.
  EXPECT_TRUE(troupe::test::wait_until(
    [&] { return troupe::test::file_contains(log, "refused restart"); }, 60s, 50ms));
  auto a2 = reg.announce(cluster, 2, "200ms");
  EXPECT_TRUE(troupe::test::wait_until(
    [&] { return troupe::test::file_contains(log, "attach: member-2 joined"); }, 30s));
  a1->signal(SIGTERM);
  a1->wait(10s);
  EXPECT_TRUE(troupe::test::wait_until(
    [&] { return troupe::test::file_contains(log, "attach: member-1 left"); }, 30s));
  run.join();
  const auto& h = r.report["series"]["heights"];
  ASSERT_TRUE(h.contains("member-2")) << r.report.dump(2).substr(0, 3000);
  // member-2: down at first, up later; member-1: up at first, down at the end.
  EXPECT_EQ(h["member-2"].front(), -1) << h.dump();
  EXPECT_GE(h["member-2"].back().get<int64_t>(), 0) << h.dump();
  EXPECT_GE(h["member-1"].front().get<int64_t>(), 0) << h.dump();
  EXPECT_EQ(h["member-1"].back(), -1) << h.dump();
  EXPECT_GE(h["member-0"].back().get<int64_t>(), 0) << h.dump();
  EXPECT_GE(r.report["attach"]["joins"].get<int>(), 3);
  EXPECT_GE(r.report["attach"]["leaves"].get<int>(), 1);
  ASSERT_EQ(r.report["refusals"].size(), 1u);
  EXPECT_TRUE(cluster.all_running());
  a0->signal(SIGTERM);
  a2->signal(SIGTERM);
}

TEST(attach, attach_etcd_example_passes_through_the_registry) {
  if (!have_etcd())
    GTEST_SKIP() << "etcd (Debian etcd-server) and curl are needed";
  register_catalog();
  const auto dir = troupe::test::fresh_dir("attach-etcd-example");
  // A real three-member cluster, started here (outside troupe).
  etcd_cluster cluster{dir, 3};
  ASSERT_TRUE(cluster.wait_ready());
  signed_registry reg{dir};
  ASSERT_TRUE(reg.up());
  std::vector<std::unique_ptr<child>> announcers;
  for (int i = 0; i < 3; ++i)
    announcers.push_back(reg.announce(cluster, i, "1s"));
  ASSERT_TRUE(reg.lists("member-2"));
  auto j =
    troupe::read_json_file(troupe::test::source_dir() + "/scenarios/attach-etcd.json", "example");
  j["backend"]["discovery"] = reg.url; // the registry this test started
  auto s = scenario_from_json(j);
  run_request req;
  req.out = dir / "run";
  req.quiet = true;
  auto r = run_scenario(s, req);
  EXPECT_EQ(r.exit_code, 0) << r.report.dump(2).substr(0, 5000);
  const auto& cmds = r.report["commands"];
  ASSERT_EQ(cmds.size(), 4u) << r.report.dump(2).substr(0, 3000);
  double last_record = 0, go = 0;
  for (const auto& c : cmds) {
    EXPECT_EQ(c["exit_code"], 0) << c.dump();
    if (c["name"] == "record")
      last_record = std::max(last_record, c["time_s"].get<double>());
    else
      go = c["time_s"].get<double>();
  }
  EXPECT_GE(go, last_record); // member-0 went ahead only after all three had recorded
  EXPECT_TRUE(cluster.all_running());
  for (auto& a : announcers)
    a->signal(SIGTERM);
}
