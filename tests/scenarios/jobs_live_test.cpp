// Job campaigns as live scenarios: the `jobs` workload serves the job engine on 127.0.0.1 and
// real workers drain it: command workers inside the run (shell commands, one per task), or
// outside `troupe jobs work` processes. Runs use the local backend with no nodes (a campaign
// needs none); each lasts a few seconds of wall time.

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "actors/errors.hpp"
#include "actors/live_snapshot.hpp"
#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "jobs/engine.hpp"
#include "jobs/replay/py_format.hpp"
#include "jobs/store.hpp"
#include "report/report.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/sockets.hpp"
#include "tests/support/wait.hpp"

extern char** environ;

using namespace troupe;
using nlohmann::json;
using troupe::test::busy_port;
using troupe::test::free_port;
namespace fs = std::filesystem;

namespace {

fs::path out_dir(const std::string& name) {
  auto dir = fs::path(troupe::test::build_dir()) / "test-runs" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

run_result run(const scenario& s, const fs::path& out) {
  run_request req;
  req.out = out;
  req.quiet = true;
  return run_scenario(s, req);
}

/// A live scenario without nodes: the given workloads and expectations.
json live_scenario(const std::string& name, const std::string& duration, json workloads,
                   json expectations) {
  return json{{"name", name},
              {"duration", duration},
              {"topology", {{"groups", json::array()}}},
              {"backend", "local"},
              {"workloads", std::move(workloads)},
              {"expectations", std::move(expectations)}};
}

scenario from_json(const json& j) {
  register_catalog();
  return scenario_from_json(j);
}

/// A two-stage pipeline; `verify` false: processing completes a job.
json two_stages(int process_attempts_max = 3) {
  return {{"name", "two"},
          {"stages", json::array({{{"type", "hash"},
                                   {"verify", false},
                                   {"process_attempts_max", process_attempts_max},
                                   {"backoff_base_ms", 10}},
                                  {{"type", "seal"}, {"verify", false}}})}};
}

/// Every job of a finished campaign, read back from the store the run left behind.
std::vector<jobs::job> stored_jobs(const fs::path& db_path) {
  auto db = jobs::store::open(db_path.string(), jobs::store::open_mode::must_exist);
  jobs::engine e(db.get());
  e.load(0);
  std::vector<jobs::job> out;
  for (const auto* j : e.list(std::nullopt, {}, SIZE_MAX))
    out.push_back(*j);
  return out;
}

/// Stops a process this test started: SIGTERM, then SIGKILL after a bounded wait.
void stop_process(pid_t pid) {
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

} // namespace

TEST(jobs_live, pipeline_commands_local_example_passes) {
  register_catalog();
  run_request req;
  req.scenario_path = "scenarios/pipeline-commands-local.json";
  req.out = out_dir("example-pipeline-commands-local.json");
  req.quiet = true;
  auto r = run_scenario(
    load_scenario(troupe::test::source_dir() + "/scenarios/pipeline-commands-local.json"), req);
  EXPECT_EQ(r.exit_code, 0) << console_summary(r.report);
  const auto& jobs = r.report["jobs"];
  EXPECT_TRUE(jobs["finished"].get<bool>());
  EXPECT_EQ(jobs["summary"]["by_status"]["completed"], 80);
  // end_when_done: the run ended when the campaign did, not at its 60 s bound.
  EXPECT_LT(r.report["timing"]["run_seconds"].get<double>(), 60.0);
  for (const char* stage : {"snos", "proving", "data_submission", "state_update"})
    EXPECT_EQ(jobs["phases"][stage]["count"], 20) << stage;
  // Without nodes, report.html shows the campaign and no empty node charts.
  std::ifstream in{r.run_dir / "report.html"};
  const std::string html{std::istreambuf_iterator<char>(in), {}};
  EXPECT_NE(html.find("<section id=\"jobs\">"), std::string::npos);
  EXPECT_EQ(html.find("<section id=\"heights\">"), std::string::npos);
}

TEST(jobs_live, command_workers_run_every_job_once_with_the_commands_results) {
  const auto out = out_dir("jobs-live-commands");
  // The replay slices' expected hashes are what the host command will print for them.
  const auto config = out_dir("jobs-live-commands-input") / "slices.json"; // not in the run dir
  json slices = json::array();
  for (int i = 0; i < 3; ++i)
    slices.push_back({{"start_block_id", i * 100},
                      {"end_block_id", (i + 1) * 100},
                      {"snapshot_path", "snap-" + std::to_string(i)},
                      {"storage_type", "local"},
                      {"expected_integrity_hash", jobs::sha1_hex(std::to_string((i + 1) * 100))},
                      {"leap_version", "5.0.2"}});
  std::ofstream(config) << slices.dump();
  auto s = from_json(live_scenario(
    "jobs-live-commands", "2s",
    json::array(
      {{{"kind", "jobs"},
        {"name", "pipe"},
        {"campaign", "pipeline"},
        {"count", 12},
        {"pipeline", two_stages()},
        {"workers", json::array({{{"type", "hash"},
                                  {"workers", 3},
                                  {"command", "printf %s {key} | sha1sum | cut -c1-40"}},
                                 {{"type", "seal"}, {"command", "printf 'sealed %s' {key}"}}})}},
       {{"kind", "jobs"},
        {"name", "replay"},
        {"campaign", "replay"},
        {"replay_config", config.string()},
        {"workers",
         json::array({{{"workers", 2},
                       {"command", "echo loading {snapshot_path}; printf %s {end_block_num} | "
                                   "sha1sum | cut -c1-40"}}})}}}),
    json::array({{{"kind", "jobs_complete"}, {"name", "pipe-done"}, {"workload", "pipe"}},
                 {{"kind", "jobs_complete"}, {"name", "replay-done"}, {"workload", "replay"}}})));
  auto r = run(s, out);
  EXPECT_EQ(r.exit_code, 0) << console_summary(r.report);

  const auto& pipe = r.report["campaigns"]["pipe"];
  EXPECT_TRUE(pipe["finished"].get<bool>());
  EXPECT_EQ(pipe["summary"]["by_status"]["completed"], 24);
  // Exactly once: every job completed one time, on its first attempt, and each stage's
  // workers report one task per job.
  const auto stored = stored_jobs(out / "jobs-pipe.db");
  ASSERT_EQ(stored.size(), 24u);
  for (const auto& j : stored) {
    EXPECT_EQ(j.status, jobs::job_status::completed) << j.id;
    EXPECT_EQ(j.completions, 1) << j.id;
    EXPECT_EQ(j.process_attempts, 1) << j.id;
    const auto result = json::parse(j.result);
    EXPECT_EQ(result["exit_code"], 0);
    const std::string key = std::to_string(*j.key);
    if (j.type == "hash")
      EXPECT_EQ(result["stdout"], jobs::sha1_hex(key) + "\n") << "job " << j.id;
    else
      EXPECT_EQ(result["stdout"], "sealed " + key) << "job " << j.id;
  }
  const auto& pools = pipe["summary"]["campaign"]["command_workers"];
  EXPECT_EQ(pools[0]["tasks"], 12);
  EXPECT_EQ(pools[1]["tasks"], 12);

  // The replay hosts spoke the replay-test protocol: every slice COMPLETE with the hash the
  // command printed on its last line.
  const auto& replay = r.report["campaigns"]["replay"];
  EXPECT_TRUE(replay["finished"].get<bool>());
  const auto& rs = replay["summary"]["replay_summary"];
  EXPECT_EQ(rs["total_jobs"], 3);
  EXPECT_EQ(rs["jobs_succeeded"], 3);
  EXPECT_EQ(rs["blocks_processed"], 300);
  EXPECT_EQ(replay["summary"]["campaign"]["command_workers"][0]["completed"], 3);
}

TEST(jobs_live, a_failing_command_lands_in_the_failure_queue_and_jobs_complete_fails) {
  const auto out = out_dir("jobs-live-failing");
  // Key 3 always fails (exit 7); one attempt is final.
  auto s = from_json(live_scenario(
    "jobs-live-failing", "2s",
    json::array(
      {{{"kind", "jobs"},
        {"campaign", "pipeline"},
        {"count", 6},
        {"pipeline", two_stages(1)},
        {"workers", json::array({{{"type", "hash"},
                                  {"workers", 2},
                                  {"command", "[ {key} != 3 ] || exit 7; printf %s {key}"}},
                                 {{"type", "seal"}, {"command", "true"}}})}}}),
    json::array({{{"kind", "jobs_complete"}}})));
  auto r = run(s, out);
  EXPECT_EQ(r.exit_code, 1) << console_summary(r.report);
  const auto& e = r.report["expectations"][0];
  EXPECT_FALSE(e["pass"].get<bool>());
  const auto& evidence = e["evidence"]["jobs"];
  EXPECT_TRUE(evidence["finished"].get<bool>());
  EXPECT_EQ(evidence["failed"], 1);
  // Keys 1..6 complete both stages except key 3, which never reaches `seal`.
  EXPECT_EQ(evidence["completed"], 10);
  ASSERT_EQ(evidence["failed_jobs"].size(), 1u);
  EXPECT_EQ(evidence["failed_jobs"][0]["type"], "hash");
  EXPECT_EQ(evidence["failed_jobs"][0]["key"], 3);
  // The failure queue in the store says why.
  for (const auto& j : stored_jobs(out / "jobs-jobs.db")) {
    if (j.status == jobs::job_status::failed) {
      EXPECT_NE(j.errors.find("command exited with 7"), std::string::npos) << j.errors;
    }
  }
}

TEST(jobs_live, outside_troupe_jobs_work_processes_drain_a_served_campaign) {
  const auto out = out_dir("jobs-live-external");
  const int port = free_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  // Real `troupe jobs work` processes, started before the server is up: they retry until it
  // answers.
  std::vector<pid_t> workers;
  for (int i = 0; i < 2; ++i) {
    const std::string name = "outside-" + std::to_string(i);
    std::vector<std::string> args = {troupe::test::troupe_binary(),
                                     "jobs",
                                     "work",
                                     "--url",
                                     url,
                                     "--worker",
                                     name,
                                     "--command",
                                     "printf %s {key} | sha1sum | cut -c1-40"};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    ASSERT_EQ(::posix_spawn(&pid, args[0].c_str(), nullptr, nullptr, argv.data(), environ), 0);
    workers.push_back(pid);
  }
  auto s = from_json(live_scenario("jobs-live-external", "3s",
                                   json::array({{{"kind", "jobs"},
                                                 {"campaign", "pipeline"},
                                                 {"count", 10},
                                                 {"pipeline", two_stages()},
                                                 {"external_workers", true},
                                                 {"serve_port", port}}}),
                                   json::array({{{"kind", "jobs_complete"}}})));
  auto r = run(s, out);
  for (pid_t pid : workers)
    stop_process(pid);
  EXPECT_EQ(r.exit_code, 0) << console_summary(r.report);
  const auto& jobs = r.report["jobs"];
  EXPECT_TRUE(jobs["finished"].get<bool>());
  EXPECT_EQ(jobs["summary"]["by_status"]["completed"], 20);
  EXPECT_EQ(jobs["summary"]["campaign"]["external_workers"]["jobs_completed"], 20);
  EXPECT_EQ(jobs["summary"]["campaign"]["url"], url);
  for (const auto& j : stored_jobs(out / "jobs-jobs.db")) {
    if (j.type == "hash") {
      EXPECT_EQ(json::parse(j.result)["stdout"], jobs::sha1_hex(std::to_string(*j.key)) + "\n");
    }
  }
}

TEST(jobs_live, ctrl_c_mid_campaign_kills_the_commands_and_still_reports_the_campaign) {
  const auto out = out_dir("jobs-live-interrupted");
  // Beside the run directory: a run starts in a clean one.
  const auto pids = out_dir("jobs-live-interrupted-pids");
  // Each command records its PID, then runs far longer than the test.
  auto s = from_json(live_scenario(
    "jobs-live-interrupted", "60s",
    json::array({{{"kind", "jobs"},
                  {"campaign", "pipeline"},
                  {"count", 4},
                  {"pipeline", two_stages()},
                  {"workers", json::array({{{"type", "hash"},
                                            {"workers", 2},
                                            {"command", "echo $$ > " + pids.string() +
                                                          "/{key}.pid; exec sleep 300"}},
                                           {{"type", "seal"}, {"command", "true"}}})}}}),
    json::array({{{"kind", "jobs_complete"}}})));
  // The run's live status (the views' snapshot) says when the runner has recorded a
  // campaign progress report.
  registry reg = registry::global();
  std::mutex live_mtx;
  std::shared_ptr<live_status> live;
  reg.set_views([&](std::shared_ptr<live_status> l, const run_request&) {
    std::lock_guard<std::mutex> guard{live_mtx};
    live = std::move(l);
    return std::unique_ptr<run_views>{};
  });
  auto reports = [&]() -> uint64_t {
    std::lock_guard<std::mutex> guard{live_mtx};
    if (!live)
      return 0;
    auto snap = live->get();
    auto it = snap.campaign_reports.find("jobs");
    return it == snap.campaign_reports.end() ? 0 : it->second;
  };
  std::atomic<bool> done{false};
  std::thread interrupter([&] {
    // Bounded: both commands started (their PID files are there), then a progress report
    // made after that (so with both tasks in flight) reached the runner's record; Ctrl-C.
    troupe::test::wait_until(
      [&] {
        return done || std::distance(fs::directory_iterator(pids), fs::directory_iterator{}) >= 2;
      },
      std::chrono::seconds(30));
    const auto before = reports();
    troupe::test::wait_until([&] { return done || reports() > before; }, std::chrono::seconds(30));
    run_interrupted = 1;
  });
  run_request req;
  req.out = out;
  req.quiet = true;
  auto r = run_scenario(s, req, reg);
  done = true;
  interrupter.join();
  run_interrupted = 0;
  EXPECT_EQ(r.exit_code, 130) << console_summary(r.report);
  EXPECT_EQ(r.report["verdict"], "interrupted");
  const auto& jobs = r.report["jobs"];
  ASSERT_TRUE(jobs.is_object()) << r.report.dump();
  EXPECT_FALSE(jobs["finished"].get<bool>());
  EXPECT_EQ(jobs["summary"]["by_status"]["processing"], 2);
  EXPECT_EQ(jobs["summary"]["by_status"]["completed"], 0);
  // Every command the workers started is gone: killed by PID, not left to its timeout.
  int seen = 0;
  for (const auto& f : fs::directory_iterator(pids)) {
    pid_t pid = 0;
    std::ifstream(f.path()) >> pid;
    ASSERT_GT(pid, 0);
    EXPECT_NE(::kill(pid, 0), 0) << "command " << pid << " still runs";
    ++seen;
  }
  EXPECT_EQ(seen, 2);
}

TEST(jobs_live, live_workers_are_refused_on_the_sim_backend_with_the_path_and_the_fix) {
  auto with_workload = [](json w) {
    auto j = live_scenario("refused", "10s", json::array({std::move(w)}),
                           json::array({{{"kind", "jobs_complete"}}}));
    j["backend"] = "sim";
    return j;
  };
  auto errors_of = [](const json& j) {
    try {
      from_json(j);
    } catch (const validation_failed& e) {
      return e.errors();
    }
    return std::vector<validation_error>{};
  };
  auto commands =
    errors_of(with_workload({{"kind", "jobs"},
                             {"campaign", "pipeline"},
                             {"pipeline", two_stages()},
                             {"workers", json::array({{{"type", "hash"}, {"command", "true"}},
                                                      {{"type", "seal"}, {"command", "true"}}})}}));
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[0].path, "workloads[0].workers[0].command");
  EXPECT_EQ(commands[1].path, "workloads[0].workers[1].command");
  EXPECT_NE(commands[0].message.find("command workers run live only"), std::string::npos);
  EXPECT_NE(commands[0].message.find("\"backend\": \"local\""), std::string::npos);
  EXPECT_NE(commands[0].message.find("process_latency"), std::string::npos);

  auto outside = errors_of(with_workload({{"kind", "jobs"},
                                          {"campaign", "pipeline"},
                                          {"pipeline", two_stages()},
                                          {"external_workers", true},
                                          {"serve_port", 4100}}));
  ASSERT_EQ(outside.size(), 1u);
  EXPECT_EQ(outside[0].path, "workloads[0].external_workers");

  // Simulated and command pools do not mix, even live.
  auto mixed = live_scenario(
    "mixed", "10s",
    json::array({{{"kind", "jobs"},
                  {"campaign", "pipeline"},
                  {"pipeline", two_stages()},
                  {"workers", json::array({{{"type", "hash"}, {"command", "true"}},
                                           {{"type", "seal"}, {"process_latency", "1s"}}})}}}),
    json::array());
  auto mixed_errors = errors_of(mixed);
  ASSERT_EQ(mixed_errors.size(), 1u);
  EXPECT_EQ(mixed_errors[0].path, "workloads[0].workers");

  // Simulated workers on sim are as before.
  EXPECT_TRUE(
    errors_of(with_workload({{"kind", "jobs"},
                             {"campaign", "pipeline"},
                             {"pipeline", two_stages()},
                             {"workers", json::array({{{"type", "hash"}}, {{"type", "seal"}}})}}))
      .empty());
}

TEST(jobs_live, a_busy_serve_port_fails_the_campaign_and_says_which_key_to_change) {
  busy_port busy;
  ASSERT_GT(busy.port, 0);
  const auto out = out_dir("jobs-live-busy-port");
  auto s = from_json(live_scenario(
    "jobs-live-busy-port", "3s",
    json::array({{{"kind", "jobs"},
                  {"campaign", "pipeline"},
                  {"count", 2},
                  {"pipeline", two_stages()},
                  {"serve_port", busy.port},
                  {"workers", json::array({{{"type", "hash"}, {"command", "true"}},
                                           {{"type", "seal"}, {"command", "true"}}})}}}),
    json::array({{{"kind", "jobs_complete"}}})));
  auto r = run(s, out);
  EXPECT_EQ(r.exit_code, 1) << console_summary(r.report);
  const auto& v = r.report["expectations"][0];
  EXPECT_FALSE(v["pass"].get<bool>());
  const auto summary = v["summary"].get<std::string>();
  EXPECT_NE(summary.find("serve_port"), std::string::npos) << summary;
  EXPECT_NE(summary.find(std::to_string(busy.port)), std::string::npos) << summary;
}

TEST(jobs_live, a_command_that_would_quote_a_placeholder_away_is_refused_at_its_path) {
  auto j = live_scenario(
    "quoted", "10s",
    json::array({{{"kind", "jobs"},
                  {"campaign", "pipeline"},
                  {"pipeline", two_stages()},
                  {"workers", json::array({{{"type", "hash"}, {"command", "echo '{key}'"}},
                                           {{"type", "seal"},
                                            {"command", "true"},
                                            {"verify_command", "test $(( {key} )) -gt 0"}}})}}}),
    json::array({{{"kind", "jobs_complete"}}}));
  std::vector<validation_error> errors;
  try {
    from_json(j);
  } catch (const validation_failed& e) {
    errors = e.errors();
  }
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "workloads[0].workers[0].command");
  EXPECT_NE(errors[0].message.find("{key} sits inside single quotes"), std::string::npos)
    << errors[0].message;
  EXPECT_EQ(errors[1].path, "workloads[0].workers[1].verify_command");
  EXPECT_NE(errors[1].message.find("arithmetic"), std::string::npos) << errors[1].message;
}
