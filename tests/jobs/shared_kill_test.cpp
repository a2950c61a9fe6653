// Three `troupe jobs serve` on one PostgreSQL database serve a 10,000-job pipeline campaign to
// 16 HTTP workers that fail over between them (--url A,B,C), while a random orchestrator is
// killed with SIGKILL ten times, each restarted: no job is lost and none is completed twice,
// counted from the store and from the workers' own records.
//
// Left out of scripts/sanitize.sh (its slowdown would outlast the bound); the normal suite
// runs it in some tens of seconds.

#include "jobs/workers/workers.hpp"
#include "tests/jobs/orchestrators.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/postgres_cluster.hpp"
#include "tests/support/wait.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

using namespace troupe::jobs;
using troupe::test::postgres_cluster;
using namespace std::chrono_literals;

TEST(JobsSharedKill, ThreeOrchestratorsKilledTenTimesLoseNoJobAndCompleteNoneTwice) {
  auto& pg = postgres_cluster::shared();
  if (!pg.ok())
    GTEST_SKIP() << pg.why();
  const auto dir = troupe::test::fresh_dir("jobs-shared-kill");
  const std::string db = "shared_kill";
  const auto url = pg.create_database(db);
  constexpr int keys = 5000; // two stages: 10,000 jobs
  constexpr int workers = 16;
  constexpr int kills = 10;
  // A claim whose answer died with its orchestrator comes back after its lease.
  const auto pipeline = (dir / "pipeline.json").string();
  std::ofstream(pipeline) << R"({"name": "two", "stages": [
    {"type": "fetch", "verify": false, "lease_ms": 2000, "process_attempts_max": 50},
    {"type": "prove", "verify": false, "lease_ms": 2000, "process_attempts_max": 50}]})";
  std::vector<std::unique_ptr<troupe::test::orchestrator>> orch;
  for (const char* name : {"a", "b", "c"}) {
    orch.push_back(std::make_unique<troupe::test::orchestrator>(dir, name, url, pipeline));
    ASSERT_TRUE(orch.back()->start()) << orch.back()->log_text();
  }
  {
    auto batch = nlohmann::json::array();
    for (int k = 0; k < keys; ++k)
      batch.push_back({{"type", "fetch"}, {"key", k}, {"payload", {{"k", k}}}});
    httplib::Client c("127.0.0.1", orch[0]->port());
    c.set_read_timeout(60);
    auto r = c.Post("/v1/jobs", batch.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }

  // The workers' own records: every job a worker's report was taken for (200: done, or a
  // repeat of a report whose answer died with an orchestrator).
  std::mutex m;
  std::vector<std::map<job_id, int>> records(workers);
  std::atomic<size_t> reported{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w)
    pool.emplace_back([&, w] {
      remote_worker_options o;
      o.url.clear();
      for (int i = 0; i < 3; ++i) // each starts on another orchestrator
        o.url += (i ? "," : "") + orch[static_cast<size_t>((w + i) % 3)]->url();
      o.worker = "w" + std::to_string(w);
      o.idle_poll_ms = 20;
      o.should_stop = [&] { return stop.load(); };
      o.on_reported = [&, w](const task& t, const work_result&, int status) {
        if (status != 200)
          return;
        std::lock_guard<std::mutex> lk(m);
        ++records[static_cast<size_t>(w)][t.id];
        ++reported;
      };
      try {
        run_remote_worker(o, [](const task& t) {
          return work_result{work_result::kind::ok, "{\"key\":" + std::to_string(*t.key) + "}", ""};
        });
      } catch (const std::exception& e) {
        ADD_FAILURE() << "worker " << w << ": " << e.what();
      }
    });

  // Kills paced by progress, not by the clock: the i-th when a share of the work is done.
  // One time budget for the whole campaign keeps the test inside its CTest bound.
  const auto deadline = std::chrono::steady_clock::now() + 240s;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration{}));
  };
  std::mt19937 rng(18);
  int killed = 0;
  for (; killed < kills; ++killed) {
    const size_t at = static_cast<size_t>(2 * keys) * static_cast<size_t>(killed + 1) / (kills + 2);
    if (!troupe::test::wait_until([&] { return reported >= at; }, left()))
      break;
    auto& victim = *orch[rng() % 3];
    victim.kill9();
    ASSERT_TRUE(victim.start()) << victim.log_text();
  }
  EXPECT_EQ(killed, kills) << "the campaign stalled after " << reported << " reports";
  auto store_says = [&](const std::string& sql) { return pg.psql(sql, db).out; };
  const bool done = troupe::test::wait_until(
    [&] { return store_says("SELECT count(*) FROM jobs WHERE status = 'completed'") == "10000\n"; },
    left(), 200ms);
  stop = true;
  for (auto& t : pool)
    t.join();
  EXPECT_TRUE(done) << store_says("SELECT status, count(*) FROM jobs GROUP BY status");

  // The store: 10,000 jobs, each completed exactly once, none failed.
  EXPECT_EQ(store_says("SELECT count(*), sum(completions), max(completions) FROM jobs"),
            "10000|10000|1\n");
  EXPECT_EQ(store_says("SELECT count(*) FROM jobs WHERE type = 'prove'"), "5000\n");
  // The workers: each job taken from exactly one worker, exactly once.
  std::map<job_id, int> all;
  for (const auto& r : records)
    for (const auto& [id, n] : r)
      all[id] += n;
  size_t twice = 0;
  for (const auto& [id, n] : all)
    twice += n > 1;
  EXPECT_EQ(all.size(), 10000u) << "jobs lost between the workers' records and the store";
  EXPECT_EQ(twice, 0u) << "jobs completed twice by the workers' records";
  // Every orchestrator still serves the same, finished campaign.
  for (const auto& o : orch) {
    httplib::Client c("127.0.0.1", o->port());
    auto r = c.Get("/v1/summary");
    ASSERT_TRUE(r) << o->log_text();
    const auto s = nlohmann::json::parse(r->body);
    EXPECT_EQ(s["by_status"]["completed"], 10000) << o->url() << ": " << r->body;
  }
}
