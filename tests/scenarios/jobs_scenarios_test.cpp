// Job campaigns as scenarios: the `jobs` workload runs a campaign through the real engine and
// store on virtual time; `jobs_complete` judges it; report.json carries its summary.

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "jobs/replay/replay.hpp"
#include "report/metrics.hpp"
#include "report/report.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/replay_summary.hpp"

using namespace troupe;
using nlohmann::json;

namespace {

run_result run(const scenario& s, const std::string& out, bool metrics = false) {
  run_request req;
  if (metrics)
    req.metrics_port = 0; // the views publish to the process's Prometheus registry
  req.out = std::filesystem::path(troupe::test::build_dir()) / "test-runs" / out;
  std::filesystem::remove_all(req.out);
  req.quiet = true;
  return run_scenario(s, req);
}

scenario load(const std::string& file) {
  register_catalog();
  return load_scenario(troupe::test::source_dir() + "/scenarios/" + file);
}

} // namespace

TEST(jobs_scenarios, the_899_slice_production_campaign_completes_in_sim_with_a_correct_summary) {
  auto r = run(load("replay-campaign.json"), "replay-campaign", true);
  EXPECT_EQ(r.exit_code, 0) << console_summary(r.report);
  const auto& jobs = r.report["jobs"];
  ASSERT_TRUE(jobs.is_object());
  EXPECT_TRUE(jobs["finished"].get<bool>());
  const auto& s = jobs["summary"]["replay_summary"];
  // The figures the original service computes, from the config alone.
  troupe::test::expect_complete_campaign_summary(
    s, troupe::jobs::load_replay_config(
         troupe::test::source_dir() +
         "/scenarios/data/replay-test/full-production-run-20240101.json"));
  // Jobs by status over time: every sample accounts for all 899 jobs; at first all but the
  // 24 the hosts took are waiting, at the end 898 are complete.
  const auto& series = jobs["series"];
  for (size_t i = 0; i < series["time_s"].size(); ++i) {
    int64_t sum = 0;
    for (auto it = series["by_status"].begin(); it != series["by_status"].end(); ++it)
      sum += it.value()[i].get<int64_t>();
    EXPECT_EQ(sum, 899) << i;
  }
  EXPECT_EQ(series["by_status"]["WAITING_4_WORKER"][0], 899 - 24);
  EXPECT_EQ(series["by_status"]["COMPLETE"].back(), 898);
  EXPECT_EQ(jobs["phases"]["replay"]["count"], 898);
  EXPECT_GT(jobs["phases"]["replay"]["p50"].get<double>(), 0.0);
  // The store is real: the campaign left its SQLite file in the run directory.
  EXPECT_TRUE(std::filesystem::exists(r.run_dir / "jobs-jobs.db"));
  // What `--metrics-port` serves: the last sample's queue depth by replay status.
  const auto text = prometheus::TextSerializer().Serialize(metrics::registry()->Collect());
  EXPECT_NE(text.find("troupe_jobs{status=\"COMPLETE\",type=\"replay\"} 898"), std::string::npos)
    << text.substr(0, 2000);
}

TEST(jobs_scenarios, proving_pipeline_completes_every_block_deterministically) {
  auto a = run(load("proving-pipeline.json"), "pipeline-a");
  EXPECT_EQ(a.exit_code, 0) << console_summary(a.report);
  auto b = run(load("proving-pipeline.json"), "pipeline-b");
  const auto& sa = a.report["jobs"]["summary"];
  EXPECT_EQ(sa["by_status"]["completed"], 8000);
  EXPECT_GT(sa["campaign"]["worker_crashes"].get<int64_t>(), 0); // leases did real work
  EXPECT_EQ(sa["campaign"]["digest"], b.report["jobs"]["summary"]["campaign"]["digest"]);
  for (const char* phase : {"snos", "proving", "data_submission", "state_update"})
    EXPECT_EQ(a.report["jobs"]["phases"][phase]["count"], 2000) << phase;
}

TEST(jobs_scenarios, the_trace_digest_sees_what_a_campaign_does) {
  // Same scenario twice: one digest. The same campaign with flakier workers (and nothing else
  // changed: no nodes, so no network events): another digest.
  auto s = load("proving-pipeline.json");
  s.workloads[0].params["count"] = 100;
  auto a = run(s, "digest-a");
  auto b = run(s, "digest-b");
  for (auto& pool : s.workloads[0].params["workers"])
    pool["fail_p"] = 0.2;
  auto c = run(scenario_from_json(to_json(s)), "digest-c");
  ASSERT_TRUE(a.report["digest"].is_string());
  EXPECT_EQ(a.report["digest"], b.report["digest"]);
  EXPECT_NE(a.report["digest"], c.report["digest"]);
  // And a replay campaign never shares its digest with a pipeline campaign.
  auto r = run(load("replay-campaign.json"), "digest-replay");
  EXPECT_NE(r.report["digest"], a.report["digest"]);
}

TEST(jobs_scenarios, end_when_done_ends_the_run_when_the_campaign_finishes) {
  // 100 blocks take a few simulated hours of the scenario's 24: with end_when_done the run
  // ends at the campaign's end, the same instant (and digest) every time; without it, at 24h.
  auto s = load("proving-pipeline.json");
  s.workloads[0].params["count"] = 100;
  auto full = run(s, "end-when-done-off");
  s.workloads[0].params["end_when_done"] = true;
  auto a = run(scenario_from_json(to_json(s)), "end-when-done-a");
  auto b = run(scenario_from_json(to_json(s)), "end-when-done-b");
  EXPECT_EQ(a.exit_code, 0) << console_summary(a.report);
  EXPECT_TRUE(a.report["jobs"]["finished"].get<bool>());
  EXPECT_EQ(a.report["jobs"]["summary"]["by_status"]["completed"], 400);
  const double ended = a.report["timing"]["simulated_seconds"].get<double>();
  EXPECT_NEAR(full.report["timing"]["simulated_seconds"].get<double>(), 24 * 3600.0, 0.01);
  EXPECT_LT(ended, 24 * 3600.0);
  // It ended when the last job did: the last sample (taken as the campaign finished) is at
  // that instant, give or take the runner's one-millisecond settling.
  const double last_sample = a.report["jobs"]["series"]["time_s"].back().get<double>();
  EXPECT_NEAR(ended, last_sample, 0.01);
  EXPECT_EQ(a.report["digest"], b.report["digest"]);
  EXPECT_DOUBLE_EQ(ended, b.report["timing"]["simulated_seconds"].get<double>());
}

TEST(jobs_scenarios, jobs_complete_fails_when_jobs_fail_for_good) {
  auto s = load("proving-pipeline.json");
  auto& w = s.workloads[0].params;
  w["count"] = 50;
  for (auto& stage : w["pipeline"]["stages"])
    stage["process_attempts_max"] = 1; // one failure is final
  for (auto& pool : w["workers"])
    pool["fail_p"] = 0.3;
  auto r = run(scenario_from_json(to_json(s)), "pipeline-fail");
  EXPECT_EQ(r.exit_code, 1);
  const auto& e = r.report["expectations"][0];
  EXPECT_FALSE(e["pass"].get<bool>());
  EXPECT_GT(e["evidence"]["jobs"]["failed"].get<int64_t>(), 0);
  EXPECT_GT(e["evidence"]["jobs"]["failed_jobs"].size(), 0u);
}

TEST(jobs_scenarios, bad_campaign_parameters_are_reported_with_their_paths) {
  auto j = to_json(load("replay-campaign.json"));
  j["workloads"][0]["replay_config"] = "no/such/config.json";
  j["workloads"][0]["hosts"] = 0;
  j["expectations"][0]["workload"] = "other";
  std::vector<validation_error> errors;
  read_scenario(j, registry::global(), errors);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].path, "workloads[0].replay_config");
  EXPECT_EQ(errors[1].to_string(), "workloads[0].hosts: must be an integer in 1..100000, got 0");
  EXPECT_EQ(errors[2].to_string(), "expectations[0]: no workload of kind \"jobs\" is named "
                                   "\"other\"");
}

// -- issue 17: validation says no where the run would -----------------------------------------

namespace {

std::vector<std::string> problems(const json& j) {
  std::vector<validation_error> errors;
  read_scenario(j, registry::global(), errors);
  std::vector<std::string> out;
  for (const auto& e : errors) {
    EXPECT_EQ(e.to_string().find('\n'), std::string::npos) << e.to_string();
    EXPECT_EQ(e.to_string().find("json.exception"), std::string::npos) << e.to_string();
    out.push_back(e.to_string());
  }
  return out;
}

const char* const snapshot_forms =
  "must be a duration >= 0 like \"10m\", a number of milliseconds >= 0, or a latency "
  "distribution such as {\"dist\": \"lognormal\", \"median_ms\": 600000, \"sigma\": 0.5}, got ";

} // namespace

TEST(jobs_scenarios, snapshot_load_must_be_a_duration_of_at_least_zero) {
  auto j = to_json(load("replay-campaign.json"));
  for (const auto& [bad, shown] : std::vector<std::pair<json, std::string>>{
         {"banana", "\"banana\""}, {-5, "-5"}, {"-10m", "\"-10m\""}, {true, "true"}}) {
    j["workloads"][0]["snapshot_load"] = bad;
    EXPECT_EQ(problems(j), std::vector<std::string>{
                             "workloads[0].snapshot_load: " + std::string(snapshot_forms) + shown});
  }
  j["workloads"][0]["snapshot_load"] = {{"dist", 5}};
  EXPECT_EQ(problems(j), std::vector<std::string>{"workloads[0].snapshot_load.dist: must be one "
                                                  "of constant, uniform, exponential, lognormal, "
                                                  "got 5"});
  j["workloads"][0]["snapshot_load"] = {{"dist", "uniform"}, {"min_ms", 10}, {"max_ms", -1}};
  EXPECT_EQ(problems(j).size(), 1u);
  for (const json& good : {json("0s"), json(0), json(250.5), json("10m"),
                           json{{"dist", "lognormal"}, {"median_ms", 600000}, {"sigma", 0.5}}}) {
    j["workloads"][0]["snapshot_load"] = good;
    EXPECT_TRUE(problems(j).empty()) << good;
  }
}

TEST(jobs_scenarios, simulated_worker_pools_are_checked_key_by_key) {
  auto j = to_json(load("proving-pipeline.json"));
  auto& w = j["workloads"][0]["workers"];
  w[0]["type"] = "proof";   // not a stage: was exit 1 when the run started
  w[1]["workers"] = "four"; // was "is not a worker pool: [json.exception.type_error.302] ..."
  w[2]["fail_p"] = 2;       // was "probabilities must be in [0, 1]", without the key
  w[3]["process_latency"] = {{"dist", "lognormal"}, {"median_ms", "slow"}, {"sigma", 0.5}};
  EXPECT_EQ(problems(j),
            (std::vector<std::string>{
              "workloads[0].workers[0].type: \"proof\" is not a stage of the pipeline; stages: "
              "data_submission, proving, snos, state_update",
              "workloads[0].workers[1].workers: must be an integer in 1..100000, got \"four\"",
              "workloads[0].workers[2].fail_p: must be a probability in 0..1, got 2",
              "workloads[0].workers[3].process_latency.median_ms: must be a number in "
              "0..32000000000, got \"slow\""}));
}

TEST(jobs_scenarios, pipeline_and_replay_config_errors_are_one_line_each_with_their_path) {
  auto j = to_json(load("proving-pipeline.json"));
  j["workloads"][0]["pipeline"]["stages"][1].erase("type");
  j["workloads"][0]["pipeline"]["stages"][2]["verify"] = "yes";
  EXPECT_EQ(problems(j), (std::vector<std::string>{
                           "workloads[0].pipeline.stages[1].type: expected a non-empty string",
                           "workloads[0].pipeline.stages[2].verify: expected true or false"}));
  // A replay config that is not one, and one that would crash the parser.
  const auto dir = std::filesystem::temp_directory_path();
  const auto bad = (dir / "troupe-bad-replay.json").string();
  std::ofstream(bad) << R"([{"start_block_id": "x", "end_block_id": 2, "snapshot_path": "s",
                           "storage_type": "t", "leap_version": "v",
                           "expected_integrity_hash": null}, 7])";
  auto r = to_json(load("replay-campaign.json"));
  r["workloads"][0]["replay_config"] = bad;
  EXPECT_EQ(problems(r), (std::vector<std::string>{
                           "workloads[0].replay_config: " + bad +
                             ": [0].start_block_id: expected an integer block number",
                           "workloads[0].replay_config: " + bad + ": [1]: expected an object"}));
  const auto deep = (dir / "troupe-deep-replay.json").string();
  std::ofstream(deep) << std::string(100'000, '[') + std::string(100'000, ']');
  r["workloads"][0]["replay_config"] = deep;
  const auto p = problems(r);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].rfind("workloads[0].replay_config: " + deep + ": [0][0][0]", 0), 0u) << p[0];
  EXPECT_NE(p[0].find("more than 64 levels deep"), std::string::npos) << p[0];
}
