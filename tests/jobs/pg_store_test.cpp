// The PostgreSQL store's own behaviour, beside what the parametrised store, fencing and
// durability tests check on both stores: the harness runs a real server as an unprivileged
// user, and every way a database can be wrong is one sentence and exit code 2.

#include "jobs/engine.hpp"
#include "jobs/pg_store.hpp"
#include "jobs/store.hpp"
#include "tests/support/postgres_cluster.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/sockets.hpp"
#include "tests/support/wait.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sys/stat.h>

using namespace troupe::jobs;
using troupe::test::postgres_cluster;

namespace {

postgres_cluster& cluster() { return postgres_cluster::shared(); }

/// What `troupe jobs serve --store URL` says when it cannot serve (it must exit at once).
troupe::test::shell_outcome serve_on(const std::string& url) {
  return troupe::test::troupe_cli("jobs serve --port 0 --store " + troupe::test::shell_quote(url),
                                  60);
}

/// The message of store::open's user_error ("" when it opened).
std::string open_error(const std::string& url, store::open_mode mode = store::open_mode::create) {
  try {
    store::open(url, mode);
  } catch (const troupe::user_error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

} // namespace

TEST(JobsPgStore, TheHarnessRunsAServerAsAnUnprivilegedUserStoppedByItsPid) {
  auto& pg = cluster();
  if (!pg.ok())
    GTEST_SKIP() << pg.why();
  struct stat st {};
  ASSERT_EQ(::stat(("/proc/" + std::to_string(pg.pid())).c_str(), &st), 0);
  EXPECT_NE(st.st_uid, 0u) << "the postmaster runs as root";
  EXPECT_TRUE(troupe::test::port_open(pg.port()));
  EXPECT_EQ(pg.psql("SELECT 1").out, "1\n");
  // A cluster of its own, stopped by PID, then gone.
  postgres_cluster own;
  ASSERT_TRUE(own.ok()) << own.why();
  const auto port = own.port();
  own.stop();
  EXPECT_FALSE(troupe::test::port_open(port));
}

TEST(JobsPgStore, SchemaIsCreatedOnFirstUseAndAnotherTroupeReadsIt) {
  auto& pg = cluster();
  if (!pg.ok())
    GTEST_SKIP() << pg.why();
  const auto url = pg.create_database("first_use");
  EXPECT_TRUE(has(open_error(url, store::open_mode::must_exist), "holds no job campaign"))
    << "status on an empty database";
  auto s = store::open(url);
  EXPECT_EQ(s->meta("schema_version"), "4");
  EXPECT_EQ(s->path().find(postgres_cluster::password), std::string::npos) << s->path();
  EXPECT_EQ(pg.psql("SELECT v FROM meta WHERE k='application'", "first_use").out, "troupe jobs\n");
  EXPECT_EQ(open_error(url, store::open_mode::must_exist), "");
}

TEST(JobsPgStore, UnreachableWrongCredentialsForeignOrNewerSchemaAreOneSentenceAndExitTwo) {
  auto& pg = cluster();
  if (!pg.ok())
    GTEST_SKIP() << pg.why();
  const int closed = troupe::test::free_port();
  const std::string unreachable = "postgresql://troupe:" + std::string(postgres_cluster::password) +
                                  "@127.0.0.1:" + std::to_string(closed) + "/x";
  std::string wrong = pg.url("postgres");
  const std::string secret = ":" + std::string(postgres_cluster::password) + "@";
  wrong.replace(wrong.find(secret), secret.size(), ":nope@");
  pg.create_database("foreign");
  ASSERT_EQ(pg.psql("CREATE TABLE jobs(id int, name text)", "foreign").code, 0);
  const auto newer = pg.create_database("newer");
  store::open(newer);
  ASSERT_EQ(pg.psql("UPDATE meta SET v='9' WHERE k='schema_version'", "newer").code, 0);

  struct want {
    std::string url, says;
  };
  for (const auto& w : {want{unreachable, "is unreachable"}, want{wrong, "refused the credentials"},
                        want{pg.url("no_such_db"), "does not exist"},
                        want{pg.url("foreign"), "not a troupe job campaign"},
                        want{newer, "schema version 9, this troupe reads 3 to 4"}}) {
    const auto msg = open_error(w.url);
    EXPECT_TRUE(has(msg, w.says)) << w.url << ": " << msg;
    EXPECT_FALSE(has(msg, postgres_cluster::password)) << "the password is masked: " << msg;
    const auto o = serve_on(w.url);
    EXPECT_EQ(o.code, 2) << o.out;
    EXPECT_TRUE(has(o.out, w.says)) << o.out;
  }
  // The foreign table is left as it was.
  EXPECT_EQ(
    pg.psql("SELECT count(*) FROM information_schema.columns WHERE table_name='jobs'", "foreign")
      .out,
    "2\n");
}

TEST(JobsPgStore, OneEngineWritesADatabaseAtATimeAndAKilledOnesLockIsReleased) {
  auto& pg = cluster();
  if (!pg.ok())
    GTEST_SKIP() << pg.why();
  const auto url = pg.create_database("one_writer");
  auto first = store::open(url);
  first->lock_for_writing();
  auto second = store::open(url);
  try {
    second->lock_for_writing();
    ADD_FAILURE() << "two writers on one database";
  } catch (const troupe::user_error& e) {
    EXPECT_TRUE(has(e.what(), "is already served by troupe jobs pid")) << e.what();
  }
  const auto o = serve_on(url);
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_TRUE(has(o.out, "already served by")) << o.out;
  first.reset(); // its connection ends: the lock goes with it
  second->lock_for_writing();
  // A stale writer cannot lower a job's fencing token.
  job j;
  j.id = 1;
  j.type = "t";
  j.fence = 5;
  second->write(std::vector<job>{j});
  j.fence = 4;
  j.lease_owner = "stale";
  second->write(std::vector<job>{j});
  EXPECT_EQ(second->load_all().at(0).fence, 5);
  EXPECT_EQ(second->load_all().at(0).lease_owner, "");
}

TEST(JobsPgStore, TroupeJobsServeStatusAndTokenCreateWorkOnAPostgresqlUrl) {
  auto& pg = cluster();
  if (!pg.ok())
    GTEST_SKIP() << pg.why();
  const auto url = pg.create_database("cli");
  const auto dir = troupe::test::fresh_dir("jobs-pg-cli");
  std::ofstream(dir / "pipeline.json")
    << R"({"name": "p", "stages": [{"type": "a", "verify": false}, {"type": "b", "verify": false}]})";
  const int port = troupe::test::free_port();
  const auto pid_file = dir / "serve.pid";
  // In the background, its PID recorded; stopped by that PID below.
  ASSERT_EQ(troupe::test::shell(troupe::test::shell_quote(troupe::test::troupe_binary()) +
                                  " jobs serve --store " + troupe::test::shell_quote(url) +
                                  " --pipeline " + (dir / "pipeline.json").string() + " --port " +
                                  std::to_string(port) + " > " + (dir / "serve.log").string() +
                                  " 2>&1 & echo $! > " + pid_file.string(),
                                10)
              .code,
            0);
  pid_t serve = 0;
  std::ifstream(pid_file) >> serve;
  ASSERT_GT(serve, 0);
  struct stopper {
    pid_t pid;
    ~stopper() {
      ::kill(pid, SIGTERM);
      troupe::test::wait_until([&] { return ::kill(pid, 0) != 0; }, std::chrono::seconds(20));
      ::kill(pid, SIGKILL);
    }
  } stop{serve};
  ASSERT_TRUE(troupe::test::wait_until([&] { return troupe::test::port_open(port); },
                                       std::chrono::seconds(30)))
    << troupe::test::file_text(dir / "serve.log");
  EXPECT_FALSE(has(troupe::test::file_text(dir / "serve.log"), postgres_cluster::password));
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  auto post = troupe::test::shell(
    "curl -sf -X POST -H 'Content-Type: application/json' -d '{\"key\": 1}' " + base +
      "/v1/pipelines/p/jobs && curl -sf -X POST -H 'Content-Type: application/json' -d "
      "'{\"worker\": \"w\"}' " +
      base + "/v1/claim",
    30);
  ASSERT_EQ(post.code, 0) << post.out;
  // The claim is committed before its answer: another process reads it from the database.
  auto status =
    troupe::test::troupe_cli("jobs status --store " + troupe::test::shell_quote(url), 30);
  EXPECT_EQ(status.code, 0) << status.out;
  EXPECT_TRUE(has(status.out, "processing: 1")) << status.out;
  EXPECT_FALSE(has(status.out, postgres_cluster::password)) << status.out;
  // A token made while serving is in the same database.
  auto token = troupe::test::troupe_cli(
    "jobs token create --scope worker --store " + troupe::test::shell_quote(url), 30);
  EXPECT_EQ(token.code, 0) << token.out;
  EXPECT_EQ(pg.psql("SELECT count(*) FROM tokens", "cli").out, "1\n");
  // retry on the database works beside the server (it shares the database in one round):
  // it reads the server's claim, so job 1 is not failed.
  auto retry =
    troupe::test::troupe_cli("jobs retry 1 --store " + troupe::test::shell_quote(url), 30);
  EXPECT_EQ(retry.code, 2) << retry.out;
  EXPECT_TRUE(has(retry.out, "is not failed (status processing)")) << retry.out;
}

TEST(JobsPgStore, ADatabaseOfSchemaVersionThreeIsMigratedWithItsJobs) {
  auto& pg = cluster();
  if (!pg.ok())
    GTEST_SKIP() << pg.why();
  const auto url = pg.create_database("v3");
  // The schema and a row exactly as a troupe of schema version 3 wrote them.
  ASSERT_EQ(
    pg.psql(
        "CREATE TABLE jobs(id BIGINT PRIMARY KEY, type BYTEA NOT NULL, key BIGINT, status TEXT "
        "NOT NULL, process_attempts INTEGER NOT NULL, verification_attempts INTEGER NOT NULL, "
        "lease_owner BYTEA NOT NULL, lease_expiry_ms BIGINT NOT NULL, not_before_ms BIGINT NOT "
        "NULL, created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, finished_ms BIGINT NOT "
        "NULL, completions INTEGER NOT NULL, deps BYTEA NOT NULL, payload BYTEA NOT NULL, result "
        "BYTEA NOT NULL, errors BYTEA NOT NULL, fence BIGINT NOT NULL DEFAULT 0);"
        "CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
        "CREATE TABLE tokens(digest TEXT PRIMARY KEY, scope TEXT NOT NULL, created_ms BIGINT NOT "
        "NULL);"
        "INSERT INTO meta VALUES('schema_version','3'),('application','troupe jobs');"
        "INSERT INTO jobs VALUES(1,'t'::bytea,5,'created',0,0,''::bytea,0,0,0,0,0,0,''::bytea,"
        "'null'::bytea,''::bytea,'[]'::bytea,3);"
        "ALTER TABLE jobs OWNER TO troupe; ALTER TABLE meta OWNER TO troupe;"
        "ALTER TABLE tokens OWNER TO troupe;",
        "v3")
      .code,
    0);
  auto s = store::open(url, store::open_mode::must_exist);
  EXPECT_EQ(s->meta("schema_version"), "4");
  EXPECT_EQ(pg.psql("SELECT data_type FROM information_schema.columns WHERE table_name = 'jobs' "
                    "AND column_name = 'rev'",
                    "v3")
              .out,
            "bigint\n");
  // Shared, its first round reads the old row (version 0) with its fencing token.
  s->join_shared();
  engine e(s.get());
  e.load(1);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e.find(1)->fence, 3);
  e.begin_round(2);
  auto t = e.claim("t", "w", 2);
  e.commit();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->fence, 4);
  EXPECT_EQ(pg.psql("SELECT fence, rev > 0 FROM jobs", "v3").out, "4|t\n");
}
