// `troupe shrink` as a user meets it: a failing run's fault schedule, chaos included, shrunk
// to a few explicit steps that a person can read and that still fail the same way.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backends/sim/shrink.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/wait.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using outcome = troupe::test::shell_outcome;
using troupe::test::troupe_cli;

json read_json(const fs::path& p) {
  std::ifstream in{p};
  return json::parse(in, nullptr, false);
}

/// The steps of the shrunk scenario's schedule (none when every fault could go).
json shrunk_steps(const json& scenario) {
  for (const auto& w : scenario["workloads"])
    if (w["kind"] == "steps")
      return w["steps"];
  return json::array();
}

json expectation(const json& report, const std::string& name) {
  for (const auto& e : report["expectations"])
    if (e["name"] == name)
      return e;
  return json();
}

/// Runs `args` into `dir`, shrinks it, runs the shrunk scenario into `dir`-rerun; returns
/// (the original report, the shrunk scenario, the rerun's report).
std::tuple<json, json, json> run_shrink_rerun(const std::string& args, const std::string& name) {
  const auto dir = troupe::test::fresh_dir(name), again = troupe::test::fresh_dir(name + "-rerun");
  auto run = troupe_cli("run " + args + " --quiet --out " + (dir / "run").string());
  EXPECT_EQ(run.code, 1) << run.out;
  auto shrink = troupe_cli("shrink " + (dir / "run").string());
  EXPECT_EQ(shrink.code, 0) << shrink.out;
  EXPECT_NE(shrink.out.find(" -> "), std::string::npos) << shrink.out;
  const auto shrunk = read_json(dir / "run" / "shrunk.json");
  auto rerun = troupe_cli("run " + (dir / "run" / "shrunk.json").string() + " --quiet --out " +
                          again.string());
  EXPECT_EQ(rerun.code, 1) << rerun.out;
  return {read_json(dir / "run" / "report.json"), shrunk, read_json(again / "report.json")};
}

} // namespace

TEST(shrink, a_split_brain_run_shrinks_to_at_most_three_steps_that_still_split_the_chain) {
  auto [before, shrunk, after] =
    run_shrink_rerun("scenarios/chain-split-brain.json", "shrink-split-brain");
  ASSERT_TRUE(shrunk.is_object());
  const auto steps = shrunk_steps(shrunk);
  EXPECT_GE(steps.size(), 1u);
  EXPECT_LE(steps.size(), 3u) << steps.dump();
  // The same expectation fails the same way: a partition never healed, several tips.
  const auto was = expectation(before, "convergence"), is = expectation(after, "convergence");
  EXPECT_EQ(is["pass"], false);
  EXPECT_EQ(troupe::backends::summary_shape(is["summary"]),
            troupe::backends::summary_shape(was["summary"]))
    << was["summary"] << "\n"
    << is["summary"];
  EXPECT_NE(is["summary"].get<std::string>().find(" vs "), std::string::npos) << is["summary"];
  // A scenario a person can read: it says where it came from and runs no longer than needed.
  EXPECT_NE(shrunk["description"].get<std::string>().find("1 faults (1 steps) -> 1 faults"),
            std::string::npos)
    << shrunk["description"];
  EXPECT_EQ(shrunk["seed"], 11);
}

TEST(shrink, a_chaos_run_becomes_a_few_explicit_steps_that_fail_the_same_expectation) {
  // Seed 20 of the swarm example under --vary fails convergence after its chaos.
  auto [before, shrunk, after] =
    run_shrink_rerun("scenarios/chain-swarm.json --seed 20 --vary", "shrink-chaos");
  ASSERT_TRUE(shrunk.is_object());
  EXPECT_GE(before["faults"].size(), 4u);
  const auto steps = shrunk_steps(shrunk);
  EXPECT_LE(steps.size(), 3u) << steps.dump(1);
  for (const auto& w : shrunk["workloads"])
    EXPECT_NE(w["kind"], "chaos");
  EXPECT_EQ(expectation(before, "convergence")["pass"], false);
  EXPECT_EQ(expectation(after, "convergence")["pass"], false);
}

TEST(shrink, swarm_shrink_leaves_each_failing_seed_its_shrunk_scenario) {
  const auto dir = troupe::test::fresh_dir("swarm-shrink");
  auto r = troupe_cli("swarm scenarios/chain-swarm.json --seeds 13..15 -j2 --shrink --out " +
                      dir.string());
  ASSERT_EQ(r.code, 1) << r.out;
  const auto s = read_json(dir / "swarm.json");
  ASSERT_EQ(s["failing"].size(), 1u);
  EXPECT_EQ(s["failing"][0]["shrunk"]["file"], "seed-14/shrunk.json") << s["failing"].dump();
  EXPECT_TRUE(fs::exists(dir / "seed-14" / "shrunk.json"));
  EXPECT_NE(troupe::test::file_text(dir / "swarm.html").find("seed-14/shrunk.json"),
            std::string::npos);
}

TEST(shrink, refuses_what_it_cannot_shrink_with_the_reason) {
  const auto dir = troupe::test::fresh_dir("shrink-refused");
  troupe_cli("run scenarios/chain-partition.json --quiet --out " + (dir / "pass").string());
  auto passed = troupe_cli("shrink " + (dir / "pass").string());
  EXPECT_EQ(passed.code, 2) << passed.out;
  EXPECT_NE(passed.out.find("did not fail"), std::string::npos) << passed.out;
  EXPECT_FALSE(fs::exists(dir / "pass" / "shrunk.json"));
  auto missing = troupe_cli("shrink " + (dir / "nowhere").string());
  EXPECT_EQ(missing.code, 2) << missing.out;
  EXPECT_NE(missing.out.find("report.json is missing"), std::string::npos) << missing.out;
}

TEST(shrink, the_shrunk_schedule_is_an_ordinary_scenario_a_live_backend_can_run) {
  auto [before, shrunk, after] =
    run_shrink_rerun("tests/apps/data/split-brain-litecoin.json", "shrink-live");
  ASSERT_TRUE(shrunk.is_object());
  EXPECT_LE(shrunk_steps(shrunk).size(), 3u);
  const auto file = troupe::test::fresh_dir("shrink-live-file") / "shrunk.json";
  std::ofstream(file) << shrunk.dump(2);
  auto v = troupe_cli("validate " + file.string() + " --backend local --strict");
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_NE(v.out.find("backend local can do every control and fault it asks for"),
            std::string::npos)
    << v.out;
}
