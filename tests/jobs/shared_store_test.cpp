// Several engines on one PostgreSQL database (store.hpp, docs/jobs.md): every engine decides
// on the database's latest state, in rounds under the campaign lock, so no job is handed to
// two workers and the engines' in-memory states never diverge; one orchestrator leads the
// periodic work, and when it is killed another takes over.

#include "jobs/engine.hpp"
#include "jobs/pg_store.hpp"
#include "jobs/store.hpp"
#include "tests/jobs/orchestrators.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/postgres_cluster.hpp"
#include "tests/support/wait.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <set>

using namespace troupe::jobs;
using troupe::test::postgres_cluster;
using namespace std::chrono_literals;

namespace {

/// One engine's round: take in the others' changes, do `f`, commit.
template <class F> auto in_round(engine& e, time_ms now, F&& f) {
  e.begin_round(now);
  auto out = f(e);
  e.commit();
  return out;
}

/// The pid of the `troupe jobs serve` holding the leader's lock on `db`, or 0.
pid_t leader_pid(const postgres_cluster& pg, const std::string& db) {
  const auto r = pg.psql("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON "
                         "a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND "
                         "l.classid = 0 AND l.objid = " +
                           std::to_string(pg_store::leader_lock_key),
                         db);
  const auto at = r.out.find("pid ");
  return at == std::string::npos ? 0 : static_cast<pid_t>(std::stol(r.out.substr(at + 4)));
}

nlohmann::json post_json(const std::string& url, const std::string& path,
                         const nlohmann::json& body, int* status = nullptr) {
  const auto port = std::stoi(url.substr(url.rfind(':') + 1));
  httplib::Client c("127.0.0.1", port);
  auto r = c.Post(path.c_str(), body.dump(), "application/json");
  if (status)
    *status = r ? r->status : 0;
  return r && !r->body.empty() ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
}

nlohmann::json get_json(const std::string& url, const std::string& path) {
  const auto port = std::stoi(url.substr(url.rfind(':') + 1));
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get(path.c_str());
  return r && r->status == 200 ? nlohmann::json::parse(r->body) : nlohmann::json();
}

/// A job's status as an orchestrator says it ("" when it does not answer).
std::string status_of(const std::string& url, job_id id) {
  const auto j = get_json(url, "/v1/jobs/" + std::to_string(id));
  return j.is_object() ? j.value("status", "") : "";
}

size_t lease_expiries(const nlohmann::json& job) {
  size_t n = 0;
  for (const auto& e : job["errors"])
    n += e.value("error", "").rfind("lease expired", 0) == 0;
  return n;
}

} // namespace

TEST(JobsSharedStore, TwoEnginesOnOneDatabaseNeverClaimOneJobTwiceAndNeverDiverge) {
  auto& pg = postgres_cluster::shared();
  if (!pg.ok())
    GTEST_SKIP() << pg.why();
  const auto url = pg.create_database("shared_two_engines");
  // The second stage waits for the previous key's second stage: a dependency that one
  // engine creates and the other resolves.
  const auto p = parse_pipeline(nlohmann::json::parse(R"({"name": "two", "stages": [
    {"type": "first", "verify": false},
    {"type": "second", "verify": false, "after_previous_key": true}]})"));
  auto sa = store::open(url);
  auto sb = store::open(url);
  sa->join_shared();
  sb->join_shared();
  engine a(sa.get()), b(sb.get());
  a.add_pipeline(p);
  b.add_pipeline(p);
  a.load(0);
  b.load(0);
  constexpr int keys = 20;
  for (int k = 0; k < keys; ++k) // fed through both
    in_round(k % 2 ? a : b, 1, [&](engine& e) { return e.enqueue_pipeline("two", k, "{}", 1); });
  std::set<job_id> completed;
  time_ms now = 10;
  for (int step = 0; step < 200 && completed.size() < 2 * keys; ++step, ++now) {
    // A claim on each engine before either reports: never the same job.
    auto ta = in_round(a, now, [&](engine& e) { return e.claim_any("wa", now); });
    auto tb = in_round(b, now, [&](engine& e) { return e.claim_any("wb", now); });
    if (ta && tb) {
      ASSERT_NE(ta->id, tb->id) << "one job handed to two workers";
    }
    // Each completes on the other engine.
    if (ta) {
      EXPECT_EQ(
        in_round(b, now, [&](engine& e) { return e.complete(ta->id, "wa", "1", now, ta->fence); }),
        outcome::ok);
      EXPECT_TRUE(completed.insert(ta->id).second) << "job " << ta->id << " completed twice";
    }
    if (tb) {
      EXPECT_EQ(
        in_round(a, now, [&](engine& e) { return e.complete(tb->id, "wb", "1", now, tb->fence); }),
        outcome::ok);
      EXPECT_TRUE(completed.insert(tb->id).second) << "job " << tb->id << " completed twice";
    }
  }
  EXPECT_EQ(completed.size(), 2u * keys);
  // Caught up, both engines hold the same jobs in the same states as the database.
  in_round(a, now, [](engine&) { return 0; });
  in_round(b, now, [](engine&) { return 0; });
  EXPECT_EQ(a.count(job_status::completed), 2u * keys);
  EXPECT_EQ(b.count(job_status::completed), 2u * keys);
  EXPECT_EQ(a.digest(), b.digest());
  auto fresh = store::open(url);
  engine c(fresh.get());
  c.add_pipeline(p);
  c.load(now);
  EXPECT_EQ(c.digest(), a.digest());
  EXPECT_EQ(pg.psql("SELECT count(*), max(completions) FROM jobs", "shared_two_engines").out,
            std::to_string(2 * keys) + "|1\n");
}

TEST(JobsSharedStore, WhenTheLeaderIsKilledAnotherLeadsAndEachLeaseExpiresOnce) {
  auto& pg = postgres_cluster::shared();
  if (!pg.ok())
    GTEST_SKIP() << pg.why();
  const auto dir = troupe::test::fresh_dir("jobs-shared-leader");
  const std::string db = "shared_leader";
  const auto url = pg.create_database(db);
  const auto pipeline = (dir / "pipeline.json").string();
  std::ofstream(pipeline) << R"({"name": "t", "stages": [
    {"type": "t", "verify": false, "lease_ms": 1000, "process_attempts_max": 5}]})";
  troupe::test::orchestrator first(dir, "first", url, pipeline);
  troupe::test::orchestrator second(dir, "second", url, pipeline);
  ASSERT_TRUE(first.start()) << first.log_text();
  ASSERT_TRUE(second.start()) << second.log_text();
  // One of them leads (the first to try the lock on its tick).
  ASSERT_TRUE(troupe::test::wait_until([&] { return leader_pid(pg, db) != 0; }, 10s));
  const bool first_leads = leader_pid(pg, db) == first.pid();
  auto& leader = first_leads ? first : second;
  auto& follower = first_leads ? second : first;
  ASSERT_EQ(leader_pid(pg, db), leader.pid());

  int status = 0;
  auto jobs = nlohmann::json::array();
  jobs.push_back({{"type", "t"}, {"key", 1}});
  post_json(follower.url(), "/v1/jobs", jobs, &status);
  ASSERT_EQ(status, 201);
  // A worker claims on the follower and falls silent: the leader expires the lease, once.
  auto claim = post_json(follower.url(), "/v1/claim", {{"worker", "silent-1"}}, &status);
  ASSERT_EQ(status, 200) << claim.dump();
  ASSERT_TRUE(
    troupe::test::wait_until([&] { return status_of(follower.url(), 1) == "created"; }, 20s));
  EXPECT_TRUE(troupe::test::file_contains(leader.log(), "re-queued 1 job(s)")) << leader.log_text();
  EXPECT_FALSE(troupe::test::file_contains(follower.log(), "re-queued"))
    << "the follower expired a lease too: " << follower.log_text();

  // Claimed again, then the leader is killed: the follower takes over and expires it.
  claim = post_json(follower.url(), "/v1/claim", {{"worker", "silent-2"}}, &status);
  ASSERT_EQ(status, 200) << claim.dump();
  leader.kill9();
  ASSERT_TRUE(troupe::test::wait_until([&] { return leader_pid(pg, db) == follower.pid(); }, 10s))
    << "nobody took the lead over";
  ASSERT_TRUE(
    troupe::test::wait_until([&] { return status_of(follower.url(), 1) == "created"; }, 20s));
  EXPECT_TRUE(troupe::test::file_contains(follower.log(), "re-queued 1 job(s)"))
    << follower.log_text();

  // The killed one comes back as a follower, with the campaign's state: it hands out the
  // third claim, and the silent workers' reports are fenced off.
  ASSERT_TRUE(leader.start()) << leader.log_text();
  EXPECT_EQ(leader_pid(pg, db), follower.pid());
  claim = post_json(leader.url(), "/v1/claim", {{"worker", "w"}}, &status);
  ASSERT_EQ(status, 200) << claim.dump();
  EXPECT_EQ(claim["fence"], 3);
  post_json(leader.url(), "/v1/jobs/1/complete", {{"worker", "silent-1"}, {"fence", 1}}, &status);
  EXPECT_EQ(status, 409);
  post_json(follower.url(), "/v1/jobs/1/complete", {{"worker", "w"}, {"fence", 3}, {"result", 1}},
            &status);
  EXPECT_EQ(status, 200);
  const auto job = get_json(leader.url(), "/v1/jobs/1");
  EXPECT_EQ(job["status"], "completed");
  EXPECT_EQ(job["completions"], 1);
  EXPECT_EQ(lease_expiries(job), 2u) << job.dump(); // one per silent claim
}
