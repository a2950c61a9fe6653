// `troupe run --events-db`: runs recorded in a real PostgreSQL (a throwaway cluster,
// tests/support/postgres_cluster.hpp), queried back as a user would: several runs together,
// their events, verdicts and node log lines; a wrong URL costs no run.

#include <fstream>
#include <tuple>

#include <gtest/gtest.h>

#include "tests/support/paths.hpp"
#include "tests/support/postgres_cluster.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/sockets.hpp"

using troupe::test::postgres_cluster;
using troupe::test::shell_quote;
using troupe::test::troupe_cli;

namespace {

std::string scenario(const std::string& name) {
  return troupe::test::source_dir() + "/scenarios/" + name;
}

std::string run_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("troupe-events-db-" + std::to_string(::getpid())) / name;
  std::filesystem::remove_all(dir);
  return dir.string();
}

/// One value of a query, as psql -At prints it.
std::string value(const postgres_cluster& pg, const std::string& db, const std::string& sql) {
  auto o = pg.psql(sql, db);
  EXPECT_EQ(o.code, 0) << sql << "\n" << o.out;
  auto out = o.out;
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

} // namespace

TEST(events_db, runs_of_a_campaign_are_recorded_and_queried_together) {
  auto& pg = postgres_cluster::shared();
  if (!pg.ok())
    GTEST_SKIP() << pg.why();
  auto url = pg.create_database("events_campaign");
  ASSERT_FALSE(url.empty());
  // Two seeds of one scenario and another scenario: one campaign in one database.
  for (auto [file, seed, name] : {std::tuple{"chain-partition.json", "7", "partition-7"},
                                  std::tuple{"chain-partition.json", "8", "partition-8"},
                                  std::tuple{"chain-split-brain.json", "3", "split-brain-3"}}) {
    auto o =
      troupe_cli("run " + shell_quote(scenario(file)) + " --seed " + seed + " --quiet --out " +
                   shell_quote(run_dir(name)) + " --events-db " + shell_quote(url),
                 300);
    EXPECT_TRUE(o.code == 0 || o.code == 1) << o.out;
  }
  EXPECT_EQ(value(pg, "events_campaign", "SELECT count(*) FROM troupe_runs"), "3");
  EXPECT_EQ(value(pg, "events_campaign",
                  "SELECT string_agg(seed::text, ',' ORDER BY seed) FROM troupe_runs "
                  "WHERE scenario='chain-partition'"),
            "7,8");
  // The partition and its heal, in order, with their run times.
  EXPECT_EQ(value(pg, "events_campaign",
                  "SELECT string_agg(kind || ':' || action, ',' ORDER BY seq) FROM "
                  "troupe_run_events WHERE run_id='partition-7' AND kind IN ('fault','heal')"),
            "fault:partition,heal:heal");
  // Verdicts with their evidence as JSON: the same as report.json says.
  EXPECT_EQ(
    value(pg, "events_campaign", "SELECT verdict FROM troupe_runs WHERE run_id='partition-7'"),
    value(pg, "events_campaign",
          "SELECT report->>'verdict' FROM troupe_runs WHERE run_id='partition-7'"));
  EXPECT_EQ(value(pg, "events_campaign",
                  "SELECT count(*) FROM troupe_verdicts v JOIN troupe_runs r USING (run_id) "
                  "WHERE r.run_id='partition-7' AND v.evidence IS NOT NULL"),
            value(pg, "events_campaign",
                  "SELECT jsonb_array_length(report->'expectations') FROM troupe_runs "
                  "WHERE run_id='partition-7'"));
  // Recording the same run again replaces it.
  auto again =
    troupe_cli("run " + shell_quote(scenario("chain-partition.json")) + " --seed 7 --quiet --out " +
                 shell_quote(run_dir("partition-7")) + " --events-db " + shell_quote(url),
               300);
  EXPECT_TRUE(again.code == 0 || again.code == 1) << again.out;
  EXPECT_EQ(value(pg, "events_campaign", "SELECT count(*) FROM troupe_runs"), "3");
}

TEST(events_db, a_live_run_records_the_last_lines_of_each_node_log) {
  auto& pg = postgres_cluster::shared();
  if (!pg.ok())
    GTEST_SKIP() << pg.why();
  auto url = pg.create_database("events_live");
  ASSERT_FALSE(url.empty());
  auto dir = run_dir("etcd-live");
  auto o = troupe_cli("run " + shell_quote(scenario("etcd-local.json")) +
                        " --duration 10s --quiet --out " + shell_quote(dir) + " --events-db " +
                        shell_quote(url) + " --events-db-log-lines 10",
                      280);
  ASSERT_TRUE(o.code == 0 || o.code == 1) << o.out;
  EXPECT_EQ(value(pg, "events_live", "SELECT count(DISTINCT node) FROM troupe_node_log_lines"),
            "3");
  EXPECT_EQ(value(pg, "events_live",
                  "SELECT max(c) FROM (SELECT count(*) c FROM troupe_node_log_lines GROUP BY "
                  "node) n"),
            "10")
    << "the last 10 lines of each node's log";
  // The last line recorded is the last line of the file.
  std::ifstream log{std::filesystem::path(dir) / "nodes" / "member-0.log"};
  std::string line, last;
  uint64_t n = 0;
  while (std::getline(log, line)) {
    last = line;
    ++n;
  }
  EXPECT_EQ(value(pg, "events_live",
                  "SELECT max(line_no) FROM troupe_node_log_lines WHERE node='member-0'"),
            std::to_string(n));
}

TEST(events_db, a_wrong_url_or_password_is_one_sentence_and_no_run) {
  auto& pg = postgres_cluster::shared();
  if (!pg.ok())
    GTEST_SKIP() << pg.why();
  auto closed =
    "postgresql://troupe:troupe-secret@127.0.0.1:" + std::to_string(troupe::test::free_port()) +
    "/none";
  auto dir = run_dir("unreachable");
  auto o = troupe_cli("run " + shell_quote(scenario("chain-partition.json")) + " --quiet --out " +
                        shell_quote(dir) + " --events-db " + shell_quote(closed),
                      120);
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("events database 'postgresql://troupe:***@127.0.0.1:"), std::string::npos)
    << o.out;
  EXPECT_NE(o.out.find("is unreachable"), std::string::npos) << o.out;
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(dir) / "report.json"))
    << "nothing ran";

  auto url = pg.url("postgres");
  auto wrong = url.replace(url.find("troupe-secret"), 13, "not-the-password");
  auto w =
    troupe_cli("run " + shell_quote(scenario("chain-partition.json")) + " --quiet --out " +
                 shell_quote(run_dir("wrong-password")) + " --events-db " + shell_quote(wrong),
               120);
  EXPECT_EQ(w.code, 2) << w.out;
  EXPECT_NE(w.out.find("refused the credentials"), std::string::npos) << w.out;
  EXPECT_EQ(w.out.find("not-the-password"), std::string::npos) << "the password is never printed";
}
