// End to end through the command line: `troupe run` on real nodes, the example scenarios'
// verdicts, and SIGINT to a running `troupe run` (every node PID gone, report.json written).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/backends/etcd_faults_report.hpp"
#include "tests/backends/live_helpers.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/troupe_child.hpp"

using namespace troupe::backends::testing;

namespace {

struct child_run {
  pid_t pid = -1;
  fs::path out;
};

/// Starts `troupe run FILE --out DIR ...` with its output in DIR.log.
child_run start_troupe(const std::string& scenario, const std::string& name,
                       std::vector<std::string> extra = {}) {
  child_run r;
  r.out = temp_run_dir(name);
  fs::remove_all(r.out); // troupe creates it
  std::vector<std::string> args{"run", scenario, "--out", r.out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  r.pid = troupe::test::start_troupe_child(args, r.out.string() + ".log");
  return r;
}

int wait_troupe(const child_run& r, std::chrono::seconds limit) {
  return troupe::test::wait_exit(r.pid, limit);
}

std::string read_file(const fs::path& p) {
  std::ifstream in{p};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<pid_t> node_pids(const fs::path& run_dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(run_dir / "nodes", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->path().extension() == ".pid") {
      pid_t p = 0;
      std::ifstream{it->path()} >> p;
      if (p > 0)
        out.push_back(p);
    }
  return out;
}

const std::string source_dir = troupe::test::source_dir();

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

/// Three litecoind nodes; miner-1 is killed (SIGKILL) at 20s and started at 23s. Regtest
/// litecoind flushes its block index rarely, so it comes back at genesis and downloads the
/// chain again. Transactions go to the observer only (none dies with miner-1's mempool), and
/// each must be final on every node — miner-1 included, on the blocks it gets back.
nlohmann::json killed_miner_scenario(const std::string& poll) {
  auto node =
    nlohmann::json{{"model", "chain"},
                   {"program", "litecoin-regtest"},
                   {"params", {{"slot", "1s"}, {"active_slot_coeff", 0.3}, {"finality_depth", 3}}}};
  return nlohmann::json{
    {"name", "litecoin-killed-miner"},
    {"seed", 5},
    {"duration", "60s"},
    {"topology",
     {{"layout", {{"kind", "mesh"}}},
      {"groups",
       {{{"name", "miner"}, {"role", "validator"}, {"count", 2}, {"node", node}},
        {{"name", "observer"}, {"count", 1}, {"node", node}}}}}},
    {"backend", {{"name", "local"}, {"poll_interval", "500ms"}, {"poll", poll}}},
    {"workloads",
     {{{"kind", "transactions"}, {"rate", "2/s"}, {"users", 10}, {"target", "observer"}},
      {{"kind", "steps"},
       {"steps",
        {{{"at", "20s"}, {"action", "kill"}, {"nodes", {"miner-1"}}},
         {{"at", "23s"}, {"action", "start"}, {"nodes", {"miner-1"}}}}}}}},
    {"expectations",
     {{{"kind", "tx_inclusion"}, {"min_ratio", 1.0}, {"exclude_last", "20s"}},
      {{"kind", "convergence"}, {"within", "30s"}}}}};
}

} // namespace

class killed_node : public ::testing::TestWithParam<std::string> {};

TEST_P(killed_node, a_litecoind_that_lost_its_chain_is_judged_on_every_block_it_gets_back) {
  auto dir = temp_run_dir("e2e-killed-miner-" + GetParam() + "-scenario");
  auto path = dir / "litecoin-killed-miner.json";
  std::ofstream{path} << killed_miner_scenario(GetParam()).dump(2);
  auto r = start_troupe(path.string(), "e2e-killed-miner-" + GetParam());
  auto code = wait_troupe(r, 200s);
  auto report = nlohmann::json::parse(read_file(r.out / "report.json"));
  EXPECT_EQ(code, 0) << read_file(r.out.string() + ".log") << report.dump(2).substr(0, 3000);
  EXPECT_EQ(report["verdict"], "pass");
  // What the test is about: miner-1 came back at genesis (its block index was never
  // flushed), at its first start and again after the kill.
  EXPECT_EQ(count_of(read_file(r.out / "nodes" / "miner-1.log"), "nBestHeight = 0"), 2u);
  EXPECT_TRUE(node_pids(r.out).empty());
}

INSTANTIATE_TEST_SUITE_P(local_e2e, killed_node, ::testing::Values("orchestrator", "agent"));

TEST(local_e2e, etcd_local_scenario_passes) {
  auto r =
    start_troupe(source_dir + "/scenarios/etcd-local.json", "e2e-etcd", {"--backend", "local"});
  auto code = wait_troupe(r, 200s);
  EXPECT_EQ(code, 0) << read_file(r.out.string() + ".log");
  auto report = nlohmann::json::parse(read_file(r.out / "report.json"));
  EXPECT_EQ(report["verdict"], "pass");
  EXPECT_EQ(report["backend"], "local");
  EXPECT_TRUE(node_pids(r.out).empty()) << "pid files go with their processes";
  // The scenario scrapes each member's /metrics every second: committed proposals grow on
  // every member (the restarted one too), at a rate a 5-writes-per-second run can make.
  const auto& pm = report["program_metrics"];
  ASSERT_TRUE(pm.is_object()) << report.dump(2).substr(0, 2000);
  EXPECT_EQ(pm["groups"]["member"]["every_s"], 1.0);
  EXPECT_GT(pm["scrapes"]["ok"].get<uint64_t>(), 100u) << pm["scrapes"].dump();
  const auto& committed = pm["series"]["etcd_server_proposals_committed_total"];
  EXPECT_EQ(committed["kind"], "counter");
  ASSERT_EQ(committed["nodes"].size(), 3u);
  for (auto it = committed["nodes"].begin(); it != committed["nodes"].end(); ++it) {
    const auto& n = it.value();
    EXPECT_GT(n["last"].get<double>(), n["first"].get<double>()) << it.key() << n.dump();
    EXPECT_GT(n["samples"].get<uint64_t>(), 30u) << it.key();
    EXPECT_GT(n["rate_per_s"].get<double>(), 1.0) << it.key() << n.dump();
    EXPECT_LT(n["rate_per_s"].get<double>(), 1000.0) << it.key() << n.dump();
  }
  EXPECT_GT(committed["total"]["rate_per_s"].get<double>(), 3.0);
  EXPECT_GT(pm["series"]["etcd_mvcc_db_total_size_in_bytes"]["total"]["min"].get<double>(), 0);
  // The page shows them, and the console summary has one line per series.
  const auto html = read_file(r.out / "report.html");
  EXPECT_NE(html.find("id=\"program-metrics\""), std::string::npos);
  EXPECT_NE(html.find("id=\"chart-metric-0\""), std::string::npos);
  EXPECT_NE(read_file(r.out.string() + ".log")
              .find("metric etcd_server_proposals_committed_total: 3 nodes"),
            std::string::npos);
}

TEST(local_e2e, etcd_faults_local_scenario_passes) {
  // Every network fault on etcd, through namespaces and relays (needs root).
  auto r = start_troupe(source_dir + "/scenarios/etcd-faults-local.json", "e2e-etcd-faults");
  auto code = wait_troupe(r, 200s);
  auto log = read_file(r.out.string() + ".log");
  EXPECT_EQ(code, 0) << log;
  expect_every_etcd_network_fault(nlohmann::json::parse(read_file(r.out / "report.json")));
  EXPECT_TRUE(node_pids(r.out).empty());
}

TEST(local_e2e, litecoin_local_scenario_passes) {
  auto r = start_troupe(source_dir + "/scenarios/litecoin-local.json", "e2e-litecoin",
                        {"--backend", "local"});
  auto code = wait_troupe(r, 280s);
  EXPECT_EQ(code, 0) << read_file(r.out.string() + ".log");
  auto report = nlohmann::json::parse(read_file(r.out / "report.json"));
  EXPECT_EQ(report["verdict"], "pass") << report.dump(2).substr(0, 2000);
  EXPECT_TRUE(node_pids(r.out).empty());
  // The restart at 40s is a clean one: litecoind shut down on SIGTERM (troupe's RPC
  // connections did not hold its server open until the grace ran out and SIGKILL lost its
  // chain), at the restart and at the end.
  EXPECT_EQ(count_of(read_file(r.out / "nodes" / "miner-2.log"), "Shutdown: done"), 2u);
}

TEST(local_e2e, litecoin_local_scenario_passes_with_the_agent_polling) {
  // The example as it ships, but the proxies take status and blocks from the agent's
  // summaries (backend param "poll": "agent") instead of calling the nodes.
  auto doc = nlohmann::json::parse(read_file(source_dir + "/scenarios/litecoin-local.json"));
  doc["backend"]["poll"] = "agent";
  auto dir = temp_run_dir("e2e-litecoin-agent-polls-scenario");
  auto path = dir / "litecoin-local.json";
  std::ofstream{path} << doc.dump(2);
  auto r = start_troupe(path.string(), "e2e-litecoin-agent-polls", {"--backend", "local"});
  auto code = wait_troupe(r, 280s);
  EXPECT_EQ(code, 0) << read_file(r.out.string() + ".log");
  auto report = nlohmann::json::parse(read_file(r.out / "report.json"));
  EXPECT_EQ(report["verdict"], "pass") << report.dump(2).substr(0, 2000);
  EXPECT_TRUE(node_pids(r.out).empty());
}

TEST(local_e2e, litecoin_faults_local_scenario_passes) {
  // Every network fault through the link relays, and the clock skew through libfaketime.
  auto r = start_troupe(source_dir + "/scenarios/litecoin-faults-local.json", "e2e-faults");
  auto code = wait_troupe(r, 280s);
  auto log = read_file(r.out.string() + ".log");
  EXPECT_EQ(code, 0) << log;
  auto report = nlohmann::json::parse(read_file(r.out / "report.json"));
  EXPECT_EQ(report["verdict"], "pass") << report["expectations"].dump(2);
  std::vector<std::string> faults;
  for (const auto& f : report["faults"])
    faults.push_back(f["action"]);
  EXPECT_EQ(faults, (std::vector<std::string>{"set_link", "partition", "partition (one-way)",
                                              "clog", "clock_skew"}))
    << report["faults"].dump(2);
  EXPECT_TRUE(report["refusals"].empty()) << report["refusals"].dump(2);
  // The fabric's own account: relays for the 12 directed links of a 4-node mesh, bytes held
  // by the clog, dropped by the one-way cut, connections cut by the partition.
  const auto& fabric = report["fabric"];
  ASSERT_TRUE(fabric.is_object()) << report.dump(2).substr(0, 2000);
  EXPECT_EQ(fabric["relays"], 12);
  EXPECT_GT(fabric["totals"]["bytes_relayed"].get<uint64_t>(), 0u);
  EXPECT_GT(fabric["totals"]["bytes_held_total"].get<uint64_t>(), 0u);
  EXPECT_GT(fabric["totals"]["bytes_dropped"].get<uint64_t>(), 0u);
  EXPECT_GT(fabric["totals"]["connections_cut"].get<uint64_t>(), 0u);
  for (const auto& l : fabric["links"])
    EXPECT_EQ(l["latency_ms"], 80.0) << l.dump();
  const auto html = read_file(r.out / "report.html");
  EXPECT_NE(html.find("id=\"fabric-table\""), std::string::npos);
  EXPECT_NE(html.find("miner-0 → miner-1"), std::string::npos);
  // The 80 ms links stay as set through the heals (a condition, not an outage).
  for (const auto& f : report["faults"]) {
    if (f["action"] == "set_link") {
      EXPECT_GT(f["end_s"].get<double>(), 90.0) << f.dump();
    }
  }
  EXPECT_TRUE(node_pids(r.out).empty());

  // The same scenario in the simulator, and the two side by side (`troupe compare`).
  auto sim = start_troupe(source_dir + "/scenarios/litecoin-faults-local.json", "e2e-faults-sim",
                          {"--backend", "sim"});
  ASSERT_EQ(wait_troupe(sim, 120s), 0) << read_file(sim.out.string() + ".log");
  const auto cmp_dir = temp_run_dir("e2e-faults-compare");
  auto cmp = troupe::test::shell(troupe::test::troupe_binary() + " compare " + sim.out.string() +
                                   " " + r.out.string() + " --out " + cmp_dir.string(),
                                 60);
  ASSERT_EQ(cmp.code, 0) << cmp.out;
  const auto c = nlohmann::json::parse(read_file(cmp_dir / "compare.json"));
  EXPECT_EQ(c["runs"][0]["backend"], "sim");
  EXPECT_EQ(c["runs"][1]["backend"], "local");
  EXPECT_TRUE(c["same_scenario"].get<bool>());
  for (const char* group : {"miner", "observer"}) {
    const auto& g = c["heights"]["groups"][group];
    ASSERT_TRUE(g.is_object()) << group << " " << c["heights"].dump().substr(0, 500);
    EXPECT_GT(g["a"].back().get<double>(), 0) << group;
    EXPECT_GT(g["b"].back().get<double>(), 0) << group;
  }
  // Both worlds had the same faults in the same order (the skew included: libfaketime
  // live), so each has a recovery row, and neither refused anything.
  EXPECT_GE(c["recoveries"].size(), 3u) << c["recoveries"].dump();
  for (const auto& f : c["figures"])
    if (f["name"] == "refusals") {
      EXPECT_EQ(f["a"], 0.0);
      EXPECT_EQ(f["b"], 0.0);
    }
  EXPECT_FALSE(c["differences"].empty());
}

TEST(local_e2e, sigint_tears_everything_down_and_writes_the_report) {
  auto r = start_troupe(source_dir + "/scenarios/litecoin-local.json", "e2e-sigint",
                        {"--backend", "local"});
  // Wait until all five nodes run and the run is under way (the wallets are funded).
  std::vector<pid_t> pids;
  ASSERT_TRUE(eventually(90s,
                         [&] {
                           pids = node_pids(r.out);
                           // Height 107 is the first block after the funding (101 matured + 4 + 1
                           // confirmation).
                           return pids.size() == 5 &&
                                  read_file(r.out / "nodes" / "miner-0.log").find(" height=107 ") !=
                                    std::string::npos;
                         }))
    << read_file(r.out.string() + ".log");
  // And the runner has them: deployed, so the interrupt lands in the run, not in setup.
  ASSERT_TRUE(eventually(
    60s,
    [&] { return read_file(r.out / "troupe.log").find("deployed 5 nodes") != std::string::npos; }))
    << read_file(r.out / "troupe.log");
  pids = node_pids(r.out);
  ASSERT_EQ(pids.size(), 5u);
  ::kill(r.pid, SIGINT);
  auto code = wait_troupe(r, 60s);
  EXPECT_NE(code, -1) << "troupe exits after SIGINT";
  EXPECT_NE(code, 0);
  for (auto p : pids)
    EXPECT_FALSE(pid_alive(p)) << "node pid " << p << " survived SIGINT";
  ASSERT_TRUE(fs::exists(r.out / "report.json")) << read_file(r.out.string() + ".log");
  auto report = nlohmann::json::parse(read_file(r.out / "report.json"));
  EXPECT_EQ(report["verdict"], "interrupted") << report.dump().substr(0, 500);
}
