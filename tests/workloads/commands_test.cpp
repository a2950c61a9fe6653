// The `commands` workload on real nodes (local backend, three etcd members started by the
// run, commands through the agent): node placeholders, order by the sync service (a command
// that waits for every node's "imported" entry, and commands that meet at a barrier through
// `troupe sync` themselves), a timeout, exit statuses and last lines in report.json; in sim,
// every command is refused with the reason.

#include <filesystem>

#include <gtest/gtest.h>

#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"

using namespace troupe;
using nlohmann::json;

namespace {

json commands_scenario(const std::filesystem::path& dir, const std::string& backend) {
  const std::string order = (dir / "order.txt").string();
  const std::string cli = troupe::test::shell_quote(troupe::test::troupe_binary());
  json c = json::array();
  c.push_back({{"name", "import"},
               {"nodes", "all"},
               {"run", "echo {id} >> " + order + " && echo imported {id} on port {client_port}"},
               {"signal", "imported"}});
  c.push_back({{"name", "submit"},
               {"nodes", "member-0"},
               {"when", {{"signal", "imported"}, {"count", 3}}},
               {"run", "test $(wc -l < " + order + ") -eq 3 && echo all three imported"}});
  c.push_back({{"name", "meet"},
               {"nodes", "all"},
               {"run", cli + " sync barrier met 3 --timeout 1m && echo met"}});
  c.push_back({{"name", "slow"}, {"nodes", "member-1"}, {"run", "sleep 60"}, {"timeout", "300ms"}});
  return json{
    {"name", "commands-test"},
    {"seed", 3},
    {"duration", "20s"},
    {"topology",
     {{"layout", {{"kind", "mesh"}}},
      {"groups",
       json::array({{{"name", "member"}, {"count", 3}, {"node", {{"program", "etcd"}}}}})}}},
    {"backend", {{"name", backend}}},
    {"workloads", json::array({{{"kind", "commands"}, {"commands", c}}})},
    {"expectations", json::array({{{"kind", "consensus_liveness"}, {"min_height", 1}}})}};
}

json by_name(const json& commands, const std::string& name, const std::string& node) {
  for (const auto& c : commands)
    if (c["name"] == name && c["node"] == node)
      return c;
  return json();
}

} // namespace

TEST(commands, run_on_each_node_in_the_order_sync_gives_with_status_and_last_lines) {
  if (troupe::test::shell("command -v etcd", 10).code != 0)
    GTEST_SKIP() << "etcd is not installed (scripts/setup.sh installs etcd-server)";
  register_catalog();
  const auto dir = troupe::test::fresh_dir("commands-local");
  auto s = scenario_from_json(commands_scenario(dir, "local"));
  run_request req;
  req.out = dir / "run";
  req.quiet = true;
  auto r = run_scenario(s, req);
  const auto& cmds = r.report["commands"];
  ASSERT_TRUE(cmds.is_array()) << r.report.dump(2).substr(0, 3000);
  for (const std::string id : {"member-0", "member-1", "member-2"}) {
    auto imp = by_name(cmds, "import", id);
    ASSERT_TRUE(imp.is_object()) << cmds.dump(2);
    EXPECT_EQ(imp["exit_code"], 0) << imp.dump();
    // The node's own placeholders: its id and its client port.
    EXPECT_NE(imp["tail"].get<std::string>().find("imported " + id + " on port "),
              std::string::npos)
      << imp.dump();
    auto met = by_name(cmds, "meet", id);
    EXPECT_EQ(met["exit_code"], 0) << met.dump();
    // Its entry's seq (1, 2 or 3), then "met" once all three had entered.
    const auto tail = met["tail"].get<std::string>();
    EXPECT_TRUE(tail == "1\nmet\n" || tail == "2\nmet\n" || tail == "3\nmet\n") << met.dump();
  }
  // Waited for all three imports: the file had three lines when it ran.
  auto sub = by_name(cmds, "submit", "member-0");
  EXPECT_EQ(sub["exit_code"], 0) << sub.dump();
  EXPECT_EQ(sub["tail"], "all three imported\n");
  auto slow = by_name(cmds, "slow", "member-1");
  EXPECT_EQ(slow["timed_out"], true) << slow.dump();
  EXPECT_EQ(slow["exit_code"], -1);
}

TEST(commands, in_sim_every_command_is_refused_with_the_reason) {
  register_catalog();
  const auto dir = troupe::test::fresh_dir("commands-sim");
  auto j = commands_scenario(dir, "sim");
  j["topology"]["groups"][0]["node"] = {{"model", "chain"}};
  j["topology"]["groups"][0]["role"] = "validator";
  auto s = scenario_from_json(j);
  run_request req;
  req.out = dir / "run";
  req.quiet = true;
  auto r = run_scenario(s, req);
  EXPECT_FALSE(r.report.contains("commands"));
  ASSERT_EQ(r.report["refusals"].size(), 4u) << r.report["refusals"].dump(2);
  EXPECT_NE(r.report["refusals"][0]["reason"].get<std::string>().find("sim backend runs none"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "order.txt"));
}
