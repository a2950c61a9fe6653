// Durability with a real process: a server (this test binary re-executed as a child) is
// killed with SIGKILL twice in the middle of a campaign and restarted on the same SQLite file;
// every job must complete exactly once.

#include "jobs/engine.hpp"
#include "jobs/service.hpp"
#include "jobs/store.hpp"
#include "report/jobs_serve.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include "tests/jobs/store_param.hpp"
#include "tests/support/paths.hpp"
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace troupe::jobs;
namespace fs = std::filesystem;

namespace {

std::atomic<bool> child_stop{false};

/// Starts this test binary as a job server on `db`; it writes its port to `port_file`.
pid_t start_server(const fs::path& dir, const std::string& db, const fs::path& port_file) {
  fs::remove(port_file);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("TROUPE_JOBS_CHILD_DB", db.c_str(), 1);
    ::setenv("TROUPE_JOBS_CHILD_PIPELINE", (dir / "pipeline.json").c_str(), 1);
    ::setenv("TROUPE_JOBS_CHILD_PORT_FILE", port_file.c_str(), 1);
    const std::string log = (dir / "server.log").string();
    if (FILE* f = std::freopen(log.c_str(), "a", stdout))
      (void) f;
    ::dup2(STDOUT_FILENO, STDERR_FILENO);
    ::execl("/proc/self/exe", "test_jobs",
            "--gtest_filter=JobsDurabilityChild.DISABLED_ServeUntilKilled",
            "--gtest_also_run_disabled_tests", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

int wait_for_port(const fs::path& port_file) {
  for (int i = 0; i < 400; ++i) { // <= 20 s
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0)
      return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

} // namespace

// The child side: serves until SIGTERM (or 120 s, so it can never linger).
TEST(JobsDurabilityChild, DISABLED_ServeUntilKilled) {
  const char* db = std::getenv("TROUPE_JOBS_CHILD_DB");
  if (!db)
    GTEST_SKIP() << "only runs as the durability test's child process";
  std::signal(SIGTERM, [](int) { child_stop = true; });
  serve_options o;
  o.db = db;
  o.pipelines = {std::getenv("TROUPE_JOBS_CHILD_PIPELINE")};
  o.port = 0;
  o.run_ms_max = 120'000;
  o.should_stop = [] { return child_stop.load(); };
  const std::string port_file = std::getenv("TROUPE_JOBS_CHILD_PORT_FILE");
  o.on_ready = [port_file](int port) {
    std::ofstream(port_file + ".tmp") << port;
    fs::rename(port_file + ".tmp", port_file);
  };
  serve(o);
}

/// Runs on both stores (tests/jobs/store_param.hpp): a SQLite file, a PostgreSQL database.
class JobsDurability : public testing::TestWithParam<std::string> {};

TEST_P(JobsDurability, KillNineMidCampaignThenRestartEveryJobCompletesExactlyOnce) {
  const auto dir = troupe::test::fresh_dir("jobs-durability-" + GetParam());
  TROUPE_STORE_OR_SKIP(where, GetParam(), "jobs-durability-db");
  std::ofstream(dir / "pipeline.json")
    << R"({"name": "work", "stages": [{"type": "work", "verify": false, "lease_ms": 1500}]})";
  const auto port_file = dir / "port";
  constexpr int jobs_total = 3000;

  pid_t server = start_server(dir, where, port_file);
  // Whatever happens below, the child we started does not outlive the test.
  struct reaper {
    pid_t& pid;
    ~reaper() {
      if (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } reap{server};
  std::atomic<int> port{wait_for_port(port_file)};
  ASSERT_GT(port.load(), 0) << "server did not start; see " << (dir / "server.log");
  {
    httplib::Client c("127.0.0.1", port);
    auto batch = nlohmann::json::array();
    for (int i = 0; i < jobs_total; ++i)
      batch.push_back({{"type", "work"}, {"key", i}, {"payload", {{"n", i}}}});
    auto r = c.Post("/v1/jobs", batch.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }

  std::mutex m;
  std::map<job_id, int> fresh, acked;
  std::atomic<int> acked_total{0};
  std::atomic<bool> done{false};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  auto worker = [&](int w) {
    const std::string name = "worker-" + std::to_string(w);
    // Each request is retried until the (restarted) server answers.
    auto call = [&](const std::string& path, const nlohmann::json& body) {
      while (std::chrono::steady_clock::now() < deadline) {
        httplib::Client c("127.0.0.1", port.load());
        c.set_connection_timeout(1);
        c.set_read_timeout(5);
        if (auto r = c.Post(path, body.dump(), "application/json"))
          return std::optional<httplib::Response>(*r);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      return std::optional<httplib::Response>();
    };
    int idle = 0;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      auto claim = call("/v1/claim", {{"worker", name}, {"type", "work"}});
      if (!claim)
        return;
      if (claim->status == 204) {
        if (++idle > 200 && acked_total >= jobs_total) // lease-expired jobs may still come
          return;
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
        continue;
      }
      idle = 0;
      const auto id = nlohmann::json::parse(claim->body)["id"].get<job_id>();
      auto r = call("/v1/jobs/" + std::to_string(id) + "/complete",
                    {{"worker", name}, {"result", {{"by", name}}}});
      if (!r || r->status != 200)
        continue; // lease lost while the server was down: its new owner completes it
      const bool dup = nlohmann::json::parse(r->body).value("duplicate", false);
      std::lock_guard<std::mutex> lk(m);
      if (!dup)
        ++fresh[id];
      if (acked[id]++ == 0)
        ++acked_total;
    }
  };
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back(worker, w);

  // Kill -9 twice, mid-campaign, and restart on the same file.
  for (int kill_at : {jobs_total / 3, 2 * jobs_total / 3}) {
    while (acked_total < kill_at && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(::kill(server, SIGKILL), 0);
    ::waitpid(server, nullptr, 0);
    server = start_server(dir, where, port_file);
    const int p = wait_for_port(port_file);
    ASSERT_GT(p, 0) << "server did not restart; see " << (dir / "server.log");
    port = p;
  }
  for (auto& t : workers)
    t.join();
  done = true;
  ::kill(server, SIGTERM);
  int status = -1;
  for (int i = 0; i < 100 && ::waitpid(server, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(WIFEXITED(status)) << "the server did not stop on SIGTERM";

  // The durable truth: every job completed, each exactly once.
  auto db = store::open(where, store::open_mode::must_exist);
  auto rows = db->load_all();
  ASSERT_EQ(rows.size(), static_cast<size_t>(jobs_total));
  int not_completed = 0, completed_twice = 0;
  for (const auto& j : rows) {
    not_completed += j.status != job_status::completed;
    completed_twice += j.completions != 1;
  }
  EXPECT_EQ(not_completed, 0);
  EXPECT_EQ(completed_twice, 0);
  // And from the workers' side: every job acknowledged, none acknowledged fresh twice.
  EXPECT_EQ(acked_total.load(), jobs_total);
  for (const auto& [id, n] : fresh)
    EXPECT_EQ(n, 1) << "job " << id;
}

INSTANTIATE_TEST_SUITE_P(Stores, JobsDurability, troupe::test::both_stores(),
                         troupe::test::store_name);
