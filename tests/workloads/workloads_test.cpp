// The workloads, each run on the simulator through the real runner, judged by what a tester
// reads in report.json: transactions submitted at the asked rate, steps applied at their
// times on the nodes they name, a chaos schedule that is a function of the seed.

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "tests/support/paths.hpp"

using namespace troupe;
using nlohmann::json;

namespace {

/// Ten chain validators on a ring, 2 minutes, plus the given workloads.
json scenario_with(const json& workloads, uint64_t seed = 3) {
  return json{{"name", "workloads-test"},
              {"seed", seed},
              {"duration", "2m"},
              {"topology",
               {{"layout", {{"kind", "ring"}}},
                {"link", {{"latency", "20ms"}}},
                {"groups", json::array({{{"name", "v"},
                                         {"role", "validator"},
                                         {"count", 10},
                                         {"node", {{"model", "chain"}}}}})}}},
              {"workloads", workloads},
              {"expectations", json::array()}};
}

json run(const json& doc, const std::string& name) {
  register_catalog();
  run_request req;
  req.quiet = true;
  req.out = test::fresh_dir("workloads-" + name);
  auto r = run_scenario(scenario_from_json(doc), req);
  EXPECT_EQ(r.report.value("verdict", ""), "pass") << r.report.dump().substr(0, 2000);
  return r.report;
}

} // namespace

TEST(transactions, submits_at_the_asked_rate_between_start_after_and_stop_before) {
  const auto report = run(scenario_with(json::array({{{"kind", "transactions"},
                                                      {"rate", "5/s"},
                                                      {"start_after", "30s"},
                                                      {"stop_before", "30s"}}})),
                          "rate");
  // 5/s for the 60 s between 30 s and 90 s: 300, give or take the edges.
  const auto submitted = report["counters"]["txs_submitted"].get<int64_t>();
  EXPECT_GE(submitted, 290);
  EXPECT_LE(submitted, 310);
  EXPECT_EQ(report["counters"]["txs_rejected"], 0);
}

TEST(steps, apply_each_action_at_its_time_on_the_nodes_it_names) {
  const auto report =
    run(scenario_with(json::array(
          {{{"kind", "steps"},
            {"steps",
             json::array({{{"at", "20s"}, {"action", "stop"}, {"nodes", json::array({"v-3"})}},
                          {{"at", "50s"}, {"action", "start"}, {"nodes", json::array({"v-3"})}},
                          {{"at", "1m"}, {"action", "isolate"}, {"nodes", json::array({"v-0"})}},
                          {{"at", "80s"}, {"action", "heal"}}})}}})),
        "steps");
  const auto& faults = report["faults"];
  ASSERT_EQ(faults.size(), 2u) << faults.dump();
  EXPECT_EQ(faults[0]["action"], "stop");
  EXPECT_EQ(faults[0]["nodes"], json::array({"v-3"}));
  EXPECT_DOUBLE_EQ(faults[0]["start_s"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(faults[0]["end_s"].get<double>(), 50.0);
  EXPECT_EQ(faults[1]["action"], "isolate");
  EXPECT_EQ(faults[1]["nodes"], json::array({"v-0"}));
  EXPECT_DOUBLE_EQ(faults[1]["start_s"].get<double>(), 60.0);
  EXPECT_DOUBLE_EQ(faults[1]["end_s"].get<double>(), 80.0);
  // The stopped node is up again at the end.
  for (const auto& n : report["nodes"])
    EXPECT_TRUE(n["up"].get<bool>()) << n.dump();
}

TEST(chaos, the_schedule_is_a_function_of_the_seed) {
  const json chaos = json::array({{{"kind", "chaos"},
                                   {"restarts",
                                    {{"targets", "all"},
                                     {"delay_min", "5s"},
                                     {"delay_max", "15s"},
                                     {"downtime", "5s"},
                                     {"max_down", 2}}}}});
  const auto a = run(scenario_with(chaos, 11), "chaos-a");
  const auto b = run(scenario_with(chaos, 11), "chaos-b");
  const auto c = run(scenario_with(chaos, 12), "chaos-c");
  ASSERT_FALSE(a["faults"].empty());
  EXPECT_EQ(a["faults"], b["faults"]);
  EXPECT_EQ(a["digest"], b["digest"]);
  EXPECT_NE(a["faults"], c["faults"]);
  // Never more than max_down nodes down at once.
  for (const auto& f : a["faults"]) {
    int down = 0;
    for (const auto& g : a["faults"])
      if (g["start_s"].get<double>() <= f["start_s"].get<double>() &&
          f["start_s"].get<double>() < g["end_s"].get<double>())
        ++down;
    EXPECT_LE(down, 2) << f.dump();
  }
}
