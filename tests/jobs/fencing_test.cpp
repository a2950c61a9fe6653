// Leases that fence: every claim raises the job's fencing token, and a report carrying an
// older one is refused (409) and counted, so a worker paused past its lease cannot overwrite
// the work of the one that took over. The workers are real `troupe jobs work` processes, and
// both use one worker name, so only the token tells them apart.

#include "jobs/engine.hpp"
#include "jobs/http/http_server.hpp"
#include "jobs/replay/replay.hpp"
#include "jobs/store.hpp"
#include "tests/jobs/store_param.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/wait.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sqlite3.h>

#include <csignal>
#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

using namespace troupe::jobs;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// Starts `troupe jobs work` for one task of type t as worker "w"; its output goes to `log`.
pid_t start_worker(int port, const std::string& command, const fs::path& log) {
  const std::string bin = troupe::test::troupe_binary();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (FILE* f = std::freopen(log.c_str(), "w", stdout))
      (void) f;
    ::dup2(STDOUT_FILENO, STDERR_FILENO);
    ::execl(bin.c_str(), "troupe", "jobs", "work", "--url", url.c_str(), "--type", "t", "--worker",
            "w", "--max-jobs", "1", "--command", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

/// Waits (bounded) for the process to exit; its exit code, or -1 (then it is killed).
int wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  int status = 0;
  if (!troupe::test::wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, limit)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

nlohmann::json get_json(httplib::Client& c, const std::string& path) {
  auto r = c.Get(path.c_str());
  return r && r->status == 200 ? nlohmann::json::parse(r->body) : nlohmann::json();
}

} // namespace

/// Runs on both stores (tests/jobs/store_param.hpp).
class JobsFencingStores : public testing::TestWithParam<std::string> {};

TEST_P(JobsFencingStores, APausedWorkersCompletionIsRefusedAndTheSecondWorkersResultStands) {
  const auto dir = troupe::test::fresh_dir("jobs-fencing-" + GetParam());
  TROUPE_STORE_OR_SKIP(where, GetParam(), "jobs-fencing-db");
  auto db = store::open(where);
  engine eng(db.get(), engine::options{1, SIZE_MAX});
  type_policy p;
  p.type = "t";
  p.verify = false;
  p.lease_ms = 400;
  eng.define_type(p);
  eng.enqueue({"t", 1, "{}", {}, {}}, wall_now_ms());
  http_server::options o;
  o.lease_check_ms = 20;
  http_server server(eng, nullptr, o);
  const int port = server.start();
  httplib::Client c("127.0.0.1", port);

  // A claims, and its command waits for a file the test creates once A is stopped.
  const auto release = (dir / "release").string();
  const pid_t a = start_worker(
    port, "while [ ! -e " + release + " ]; do sleep 0.02; done; printf A", dir / "a.log");
  ASSERT_TRUE(troupe::test::wait_until(
    [&] { return get_json(c, "/v1/jobs/1").value("status", "") == "processing"; }, 20s));
  EXPECT_EQ(get_json(c, "/v1/jobs/1")["fence"], 1);
  ASSERT_EQ(::kill(a, SIGSTOP), 0);
  { std::ofstream(release).put('\n'); } // A's command ends; A itself stays stopped

  // A's lease expires; B (same worker name) takes the job over and completes it.
  ASSERT_TRUE(troupe::test::wait_until(
    [&] { return get_json(c, "/v1/jobs/1").value("status", "") == "created"; }, 20s));
  const pid_t b = start_worker(port, "printf B", dir / "b.log");
  EXPECT_EQ(wait_exit(b, 30s), 0) << troupe::test::file_text(dir / "b.log");
  auto job = get_json(c, "/v1/jobs/1");
  EXPECT_EQ(job["status"], "completed");
  EXPECT_EQ(job["fence"], 2);

  // A wakes up and reports: refused, counted, and B's result stands.
  ASSERT_EQ(::kill(a, SIGCONT), 0);
  EXPECT_EQ(wait_exit(a, 30s), 0) << troupe::test::file_text(dir / "a.log");
  EXPECT_NE(troupe::test::file_text(dir / "a.log").find("409"), std::string::npos)
    << troupe::test::file_text(dir / "a.log");
  job = get_json(c, "/v1/jobs/1");
  EXPECT_EQ(job["status"], "completed");
  EXPECT_EQ(job["result"]["stdout"], "B");
  EXPECT_EQ(job["completions"], 1);
  const auto summary = get_json(c, "/v1/summary");
  EXPECT_EQ(summary["refused"]["stale_fence"], 1);
  server.stop();

  // The token is durable: a restart hands out 3 next, never a token already used.
  engine again(db.get(), engine::options{1, SIZE_MAX});
  again.define_type(p);
  again.load(wall_now_ms());
  EXPECT_EQ(again.find(1)->fence, 2);
}

INSTANTIATE_TEST_SUITE_P(Stores, JobsFencingStores, troupe::test::both_stores(),
                         troupe::test::store_name);

TEST(JobsFencing, StaleTokensAreRefusedForEveryReportAndTokenlessClientsKeepWorking) {
  engine e(nullptr);
  type_policy p;
  p.type = "t";
  p.lease_ms = 10;
  p.verification_poll_ms = 0;
  e.define_type(p);
  const auto id = e.enqueue({"t", {}, "null", {}, {}}, 0);
  auto first = e.claim("t", "w", 0);
  ASSERT_TRUE(first);
  e.expire_leases(100);
  auto second = e.claim("t", "w", 100);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->fence, first->fence + 1);
  EXPECT_EQ(e.heartbeat(id, "w", 101, first->fence), outcome::stale_fence);
  EXPECT_EQ(e.fail(id, "w", "x", 101, first->fence), outcome::stale_fence);
  EXPECT_EQ(e.complete(id, "w", "1", 101, first->fence), outcome::stale_fence);
  EXPECT_EQ(e.heartbeat(id, "w", 101, second->fence), outcome::ok);
  EXPECT_EQ(e.complete(id, "w", "2", 101, second->fence), outcome::ok);
  auto verify = e.claim("t", "w", 102);
  ASSERT_TRUE(verify);
  EXPECT_EQ(e.verify(id, "w", verdict::pass, "", 103, second->fence), outcome::stale_fence);
  EXPECT_EQ(e.verify(id, "w", verdict::pass, "", 103), outcome::ok); // no token: owner check
  EXPECT_EQ(e.refused_stale_fence(), 4u);
  EXPECT_EQ(e.summary()["refused"]["stale_fence"], 4);
  EXPECT_EQ(e.find(id)->result, "2");
}

TEST(JobsFencing, AStoreOfSchemaVersionOneIsMigratedWithItsJobs) {
  const auto dir = troupe::test::fresh_dir("jobs-fencing-migrate");
  const auto path = (dir / "v1.db").string();
  {
    // The schema and a row exactly as a troupe of schema version 1 wrote them.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* v1 =
      "CREATE TABLE jobs(id INTEGER PRIMARY KEY, type TEXT NOT NULL, key INTEGER, status TEXT "
      "NOT NULL, process_attempts INTEGER NOT NULL, verification_attempts INTEGER NOT NULL, "
      "lease_owner TEXT NOT NULL, lease_expiry_ms INTEGER NOT NULL, not_before_ms INTEGER NOT "
      "NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, finished_ms INTEGER NOT "
      "NULL, completions INTEGER NOT NULL, deps TEXT NOT NULL, payload TEXT NOT NULL, result "
      "TEXT NOT NULL, errors TEXT NOT NULL);"
      "CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
      "INSERT INTO meta VALUES('schema_version','1');"
      "INSERT INTO jobs VALUES(1,'t',5,'processing',1,0,'old',99999,0,0,0,0,0,'','null','','[]');";
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = store::open(path, store::open_mode::must_exist);
  EXPECT_EQ(s->meta("schema_version"), "4");
  engine e(s.get());
  e.load(0);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e.find(1)->fence, 0);
  // The old claim's worker sends no token and finishes; the next claim hands out 1.
  EXPECT_EQ(e.complete(1, "old", "null", 1), outcome::ok);
  e.commit();
  s.reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
      sqlite3_exec(db, "UPDATE meta SET v='9' WHERE k='schema_version'", nullptr, nullptr, nullptr),
      SQLITE_OK);
    sqlite3_close(db);
  }
  try {
    store::open(path, store::open_mode::must_exist);
    ADD_FAILURE() << "a newer schema was opened";
  } catch (const troupe::user_error& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 9, this troupe reads 1 to 4"),
              std::string::npos)
      << e.what();
  }
}

TEST(JobsFencing, TheReplayFaceFencesAHostPastItsLeaseByTheJobsETag) {
  const auto dir = troupe::test::fresh_dir("jobs-fencing-replay");
  auto db = store::open((dir / "jobs.db").string());
  engine eng(db.get(), engine::options{1, SIZE_MAX});
  replay_service svc(eng, replay_service::options{1000, ""});
  eng.load(0);
  svc.load(load_replay_config(troupe::test::source_dir() +
                              "/scenarios/data/replay-test/test-simple-jobs.json"),
           0);
  auto get = [&] {
    http_request r;
    r.path = "/job";
    r.params = {{"jobid", "1"}};
    r.headers = {{"Accept", "application/json"}};
    return svc.handle(r, 0);
  };
  auto post = [&](const std::string& etag, const std::string& status, time_ms now) {
    auto job = nlohmann::json::parse(get().body);
    job["status"] = status;
    if (status == "COMPLETE")
      job["actual_integrity_hash"] = "late";
    http_request r;
    r.method = "POST";
    r.path = "/job";
    r.params = {{"jobid", "1"}};
    r.headers = {{"ETag", etag}};
    r.body = job.dump();
    return svc.handle(r, now);
  };
  // Host A starts the job and keeps the ETag its STARTED answer carries.
  auto a = post(*get().header("ETag"), "STARTED", 0);
  ASSERT_EQ(a.status, 200);
  const auto a_etag = *a.header("ETag");
  // A falls silent past the lease; the job goes back to the queue and host B starts it.
  EXPECT_EQ(svc.expire_leases(2000), 1u);
  ASSERT_EQ(post(*get().header("ETag"), "STARTED", 2000).status, 200);
  // A wakes up and posts COMPLETE under the ETag it held: refused, the job stays B's.
  auto late = post(a_etag, "COMPLETE", 2500);
  EXPECT_EQ(late.status, 400);
  EXPECT_EQ(late.body, "Invalid ETag");
  EXPECT_EQ(svc.by_id(1)->status, replay_status::STARTED);
}
