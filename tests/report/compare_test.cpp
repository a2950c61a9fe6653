// troupe compare: two runs side by side, from their report.json alone. Runs the real binary
// on simulated runs (sim against live is in tests/backends/run_e2e_test.cpp).

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using troupe::test::shell;
using troupe::test::shell_quote;

namespace {

std::string troupe_cmd(const std::string& args) {
  return shell_quote(troupe::test::troupe_binary()) + " " + args;
}

/// Runs a scenario of scenarios/ in the simulator into `out`.
void run_sim(const std::string& scenario, const fs::path& out, const std::string& extra = "") {
  auto r = shell(
    troupe_cmd("run scenarios/" + scenario + " --out " + shell_quote(out.string()) + " " + extra),
    120, troupe::test::source_dir());
  ASSERT_TRUE(r.code == 0 || r.code == 1) << r.out;
  ASSERT_TRUE(fs::exists(out / "report.json")) << r.out;
}

json read_json(const fs::path& p) {
  std::ifstream in{p};
  return json::parse(in);
}

std::string read_text(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const json& figure(const json& c, const std::string& name) {
  for (const auto& f : c["figures"])
    if (f["name"] == name)
      return f;
  static const json none;
  return none;
}

} // namespace

TEST(compare, two_seeds_of_one_scenario_side_by_side) {
  const auto dir = troupe::test::fresh_dir("compare-seeds");
  run_sim("chain-partition.json", dir / "a", "--seed 1");
  run_sim("chain-partition.json", dir / "b", "--seed 2");
  auto r = shell(troupe_cmd("compare " + shell_quote((dir / "a").string()) + " " +
                            shell_quote((dir / "b").string()) + " --out " +
                            shell_quote((dir / "cmp").string())),
                 60);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("compare.html"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("differs: "), std::string::npos) << r.out;
  const auto c = read_json(dir / "cmp" / "compare.json");
  EXPECT_TRUE(c["same_scenario"].get<bool>());
  ASSERT_EQ(c["runs"].size(), 2u);
  EXPECT_EQ(c["runs"][0]["seed"], 1);
  EXPECT_EQ(c["runs"][1]["seed"], 2);
  EXPECT_EQ(c["runs"][0]["label"], "A: sim");
  // Each figure is read from its own run's report.
  const auto a = read_json(dir / "a" / "report.json");
  const auto b = read_json(dir / "b" / "report.json");
  EXPECT_EQ(figure(c, "forks")["a"], a["counters"]["forks"].get<double>());
  EXPECT_EQ(figure(c, "forks")["b"], b["counters"]["forks"].get<double>());
  EXPECT_EQ(figure(c, "transaction latency p50")["a"], a["tx_latency"]["p50"]);
  EXPECT_EQ(figure(c, "faults")["a"], a["faults"].size());
  // The heights of every group on one grid, and the largest gap found on it.
  ASSERT_FALSE(c["heights"]["groups"].empty());
  for (auto& [group, series] : c["heights"]["groups"].items()) {
    EXPECT_EQ(series["a"].size(), c["heights"]["time_s"].size()) << group;
    EXPECT_EQ(series["b"].size(), c["heights"]["time_s"].size()) << group;
  }
  ASSERT_TRUE(c["widest_gap"].is_object());
  // One recovery row per fault the two runs share, each healed at its own run's time.
  ASSERT_EQ(c["recoveries"].size(), std::min(a["faults"].size(), b["faults"].size()));
  EXPECT_EQ(c["recoveries"][0]["a_heal_s"], a["faults"][0]["end_s"]);
  // Largest difference first.
  ASSERT_FALSE(c["differences"].empty());
  double last = 2;
  for (const auto& d : c["differences"])
    if (d["relative"].is_number()) {
      EXPECT_LE(d["relative"].get<double>(), last) << d.dump();
      last = d["relative"].get<double>();
    }
  const auto html = read_text(dir / "cmp" / "compare.html");
  for (const char* id : {"id=\"runs\"", "id=\"differences\"", "id=\"figures\"",
                         "id=\"expectations\"", "id=\"recoveries\"", "<svg id=\"heights-"})
    EXPECT_NE(html.find(id), std::string::npos) << id;
}

TEST(compare, a_run_against_itself_differs_nowhere) {
  const auto dir = troupe::test::fresh_dir("compare-same");
  run_sim("chain-sim.json", dir / "a");
  auto r = shell(troupe_cmd("compare " + shell_quote((dir / "a").string()) + " " +
                            shell_quote((dir / "a").string()) + " --out " +
                            shell_quote((dir / "cmp").string())),
                 60);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("the runs agree on every figure both have"), std::string::npos) << r.out;
  const auto c = read_json(dir / "cmp" / "compare.json");
  EXPECT_TRUE(c["differences"].empty()) << c["differences"].dump();
  EXPECT_EQ(c["widest_gap"]["gap"], 0.0);
}

TEST(compare, bad_run_directories_are_one_sentence_and_exit_2) {
  const auto dir = troupe::test::fresh_dir("compare-bad");
  auto missing = shell(troupe_cmd("compare /nonexistent/a /nonexistent/b"), 30);
  EXPECT_EQ(missing.code, 2) << missing.out;
  EXPECT_NE(missing.out.find("/nonexistent/a is not a directory"), std::string::npos)
    << missing.out;
  fs::create_directories(dir / "empty");
  auto empty = shell(troupe_cmd("compare " + shell_quote((dir / "empty").string()) + " " +
                                shell_quote((dir / "empty").string())),
                     30);
  EXPECT_EQ(empty.code, 2);
  EXPECT_NE(empty.out.find("holds no report.json"), std::string::npos) << empty.out;
  fs::create_directories(dir / "junk");
  std::ofstream(dir / "junk" / "report.json") << "{\"not\": ";
  auto junk = shell(troupe_cmd("compare " + shell_quote((dir / "junk").string()) + " " +
                               shell_quote((dir / "junk").string())),
                    30);
  EXPECT_EQ(junk.code, 2);
  EXPECT_EQ(std::count(junk.out.begin(), junk.out.end(), '\n'), 1) << junk.out;
  EXPECT_FALSE(fs::exists(dir / "compare-junk-vs-junk"));
}
