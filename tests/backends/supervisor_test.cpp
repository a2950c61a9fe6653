// Process supervision: own process groups, logs with size caps and rotation, stop with a
// grace period, kill, pause/resume, respawn, and no process left after stop_all.

#include <signal.h>

#include <fstream>

#include <gtest/gtest.h>

#include "backends/local/supervisor.hpp"
#include "tests/backends/live_helpers.hpp"
#include "tests/support/wait.hpp"

using namespace troupe::backends::local;
using namespace troupe::backends::testing;

namespace {

process_options shell(const fs::path& dir, const std::string& id, const std::string& script) {
  process_options o;
  o.id = id;
  o.binary = "/bin/sh";
  o.args = {"-c", script};
  o.cwd = dir / id;
  o.log_path = dir / (id + ".log");
  o.pid_path = dir / (id + ".pid");
  return o;
}

std::string read(const fs::path& p) {
  std::ifstream in{p};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

TEST(supervisor, logs_output_and_reports_the_exit) {
  auto dir = temp_run_dir("sup-exit");
  supervisor sup;
  auto s = sup.add(shell(dir, "n0", "echo hello; echo oops >&2; exit 3"));
  sup.start(s);
  ASSERT_TRUE(sup.wait_exit(s, 5000ms));
  sup.wait_log_drained(s, 1000ms);
  EXPECT_EQ(sup.exit_description(s), "exit code 3");
  auto tail = sup.log_tail(s, 2);
  EXPECT_EQ(tail, "hello\noops");
  EXPECT_FALSE(fs::exists(dir / "n0.pid"));
}

TEST(supervisor, children_get_their_own_process_group) {
  auto dir = temp_run_dir("sup-pgid");
  supervisor sup;
  auto s = sup.add(shell(dir, "n0", "sleep 30"));
  sup.start(s);
  auto pid = sup.pid(s);
  EXPECT_EQ(::getpgid(pid), pid);
  EXPECT_TRUE(fs::exists(dir / "n0.pid"));
  EXPECT_TRUE(sup.stop(s, 2000ms));
  EXPECT_FALSE(pid_alive(pid));
}

TEST(supervisor, stop_escalates_to_sigkill_after_the_grace_period) {
  auto dir = temp_run_dir("sup-grace");
  supervisor sup;
  auto s = sup.add(shell(dir, "n0", "trap '' TERM; echo ready; while true; do sleep 0.1; done"));
  sup.start(s);
  // The shell ignores SIGTERM once it has said "ready".
  ASSERT_TRUE(troupe::test::wait_until(
    [&] { return troupe::test::count_lines(dir / "n0.log", "ready") == 1; }, 10000ms))
    << read(dir / "n0.log");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(sup.stop(s, 300ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  EXPECT_NE(sup.exit_description(s).find("signal 9"), std::string::npos);
}

TEST(supervisor, pause_resume_and_respawn_on_the_same_log) {
  auto dir = temp_run_dir("sup-pause");
  supervisor sup;
  auto s = sup.add(shell(dir, "n0", "echo started; exec sleep 30"));
  sup.start(s);
  // Let it print before it freezes: its line is in the log.
  auto printed = [&](size_t n) {
    return troupe::test::wait_until(
      [&] { return troupe::test::count_lines(dir / "n0.log", "started") == n; }, 10000ms);
  };
  ASSERT_TRUE(printed(1)) << read(dir / "n0.log");
  const pid_t first = sup.pid(s);
  EXPECT_TRUE(sup.pause(s));
  EXPECT_EQ(sup.state(s), process_state::paused);
  // The kernel says so too: the process is stopped (T).
  EXPECT_TRUE(
    troupe::test::wait_until([&] { return troupe::test::process_state(first) == 'T'; }, 5000ms))
    << troupe::test::process_state(first);
  // A paused process still stops: SIGCONT follows SIGTERM.
  EXPECT_TRUE(sup.stop(s, 2000ms));
  sup.start(s);
  ASSERT_TRUE(printed(2)) << read(dir / "n0.log");
  EXPECT_TRUE(sup.kill(s));
  sup.wait_log_drained(s, 1000ms);
  auto log = read(dir / "n0.log");
  size_t starts = 0;
  for (size_t at = log.find("started"); at != std::string::npos; at = log.find("started", at + 1))
    ++starts;
  EXPECT_EQ(starts, 4u) << log; // two headers + two "started" lines
}

TEST(supervisor, logs_are_capped_and_rotated) {
  auto dir = temp_run_dir("sup-rotate");
  supervisor sup;
  auto o = shell(dir, "n0",
                 "i=0; while [ $i -lt 3000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; "
                 "i=$((i+1)); done");
  o.log_bytes_max = 16384;
  o.log_files_max = 2;
  auto s = sup.add(o);
  sup.start(s);
  ASSERT_TRUE(sup.wait_exit(s, 10000ms));
  sup.wait_log_drained(s, 2000ms);
  EXPECT_LE(fs::file_size(dir / "n0.log"), 16384u);
  EXPECT_LE(fs::file_size(dir / "n0.log.1"), 16384u);
  EXPECT_TRUE(fs::exists(dir / "n0.log.2"));
  EXPECT_FALSE(fs::exists(dir / "n0.log.3"));
  EXPECT_NE(sup.log_tail(s, 1).find("line-2999"), std::string::npos);
}

TEST(supervisor, stop_all_leaves_no_process) {
  auto dir = temp_run_dir("sup-all");
  std::vector<pid_t> pids;
  {
    supervisor sup;
    for (int i = 0; i < 5; ++i) {
      auto s = sup.add(shell(dir, "n" + std::to_string(i), "sleep 30 & wait"));
      sup.start(s);
    }
    pids = sup.all_pids();
    sup.stop_all(1000ms);
    EXPECT_TRUE(sup.live_pids().empty());
  }
  for (auto p : pids)
    EXPECT_FALSE(pid_alive(p)) << p;
}
