// `log_pattern` on real litecoind nodes through a child agent (`troupe agent --stdio`) that
// polls them and counts the patterns beside them: a pattern that never appears passes, one
// that does fails with the matching lines, the counts come from the agent ("counted_by":
// "agent") and equal what scanning the run directory's logs gives — a restarted node's log
// included.

#include <sys/wait.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/log_scan.hpp"
#include "tests/backends/live_helpers.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/report_lookup.hpp"
#include "tests/support/troupe_child.hpp"
#include "tests/support/wait.hpp"

using namespace troupe::backends::testing;
using nlohmann::json;

namespace {

json scenario_with_log_patterns() {
  auto node = json{{"model", "chain"},
                   {"program", "litecoin-regtest"},
                   {"params", {{"slot", "1s"}, {"active_slot_coeff", 0.3}, {"finality_depth", 2}}}};
  return json{
    {"name", "litecoin-log-counts"},
    {"seed", 3},
    {"duration", "20s"},
    {"topology",
     {{"layout", {{"kind", "mesh"}}},
      {"groups",
       {{{"name", "miner"}, {"role", "validator"}, {"count", 1}, {"node", node}},
        {{"name", "observer"}, {"count", 1}, {"node", node}}}}}},
    {"backend",
     {{"name", "local"}, {"poll_interval", "500ms"}, {"poll", "agent"}, {"agent", "child"}}},
    {"workloads",
     {{{"kind", "steps"},
       {"steps", {{{"at", "6s"}, {"action", "restart"}, {"nodes", {"observer-0"}}}}}}}},
    {"expectations",
     {// Never written by a healthy litecoind: passes.
      {{"kind", "log_pattern"},
       {"name", "no_assertions"},
       {"pattern", "Assertion .* failed|panic"}},
      // Written once per start (observer-0 starts twice): fails, with the lines.
      {{"kind", "log_pattern"},
       {"name", "starts"},
       {"pattern", "nBestHeight = "},
       {"ignore_case", false},
       {"max_matches", 0}}}}};
}

using troupe::test::verdict_of;

} // namespace

TEST(log_counts_e2e, litecoind_log_patterns_are_counted_by_the_agent_as_the_files_say) {
  auto dir = temp_run_dir("e2e-log-counts-scenario");
  auto path = dir / "litecoin-log-counts.json";
  std::ofstream{path} << scenario_with_log_patterns().dump(2);
  auto out = temp_run_dir("e2e-log-counts");
  fs::remove_all(out);
  auto pid = troupe::test::start_troupe_child({"run", path.string(), "--out", out.string()},
                                              out.string() + ".log");
  auto code = troupe::test::wait_exit(pid, std::chrono::seconds(150));
  auto report = json::parse(troupe::test::file_text(out / "report.json"));
  EXPECT_EQ(code, 1) << "one expectation fails, as it should: "
                     << troupe::test::file_text(out.string() + ".log");
  json clean = verdict_of(report, "no_assertions");
  EXPECT_TRUE(clean["pass"].get<bool>()) << clean.dump(2);
  EXPECT_EQ(clean["evidence"]["counted_by"], "agent") << clean.dump(2);
  EXPECT_EQ(clean["evidence"]["nodes_checked"], 2);
  json starts = verdict_of(report, "starts");
  EXPECT_FALSE(starts["pass"].get<bool>()) << starts.dump(2);
  EXPECT_EQ(starts["evidence"]["counted_by"], "agent") << starts.dump(2);
  EXPECT_EQ(starts["evidence"]["matches_per_node"]["miner-0"], 1) << starts.dump(2);
  EXPECT_EQ(starts["evidence"]["matches_per_node"]["observer-0"], 2) << starts.dump(2);
  EXPECT_EQ(starts["evidence"]["matches"], 3);
  ASSERT_FALSE(starts["evidence"]["examples"].empty());
  EXPECT_NE(starts["evidence"]["examples"][0]["text"].get<std::string>().find("nBestHeight = "),
            std::string::npos);
  // What scanning the logs left in the run directory gives, line numbers included.
  std::string why;
  auto re = troupe::compile_log_pattern("nBestHeight = ", false, why);
  for (const auto& e : starts["evidence"]["examples"]) {
    const auto node = e["node"].get<std::string>();
    auto file = troupe::scan_node_logs(troupe::node_log_path(out, node), re);
    EXPECT_EQ(file.matches, starts["evidence"]["matches_per_node"][node]);
    bool found = false;
    for (const auto& m : file.examples)
      found = found || (m.line_number == e["line"].get<uint64_t>() && m.text == e["text"]);
    EXPECT_TRUE(found) << e.dump();
  }
}
