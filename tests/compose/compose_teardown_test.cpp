// Ctrl-C, SIGTERM and kill -9 of `troupe run` on the compose backend mid-run: nothing with the
// run's label is left on the daemon (containers, networks, volumes), as `docker ps -a`,
// `docker network ls` and `docker volume ls` filtered by label troupe.run=<id> show.

#include <gtest/gtest.h>

#include <signal.h>

#include <nlohmann/json.hpp>

#include "tests/compose/compose_helpers.hpp"
#include "tests/support/troupe_child.hpp"
#include "tests/support/wait.hpp"

namespace {

namespace tc = troupe::test::compose;
using namespace std::chrono_literals;

class compose_signal : public ::testing::TestWithParam<int> {};

TEST_P(compose_signal, of_troupe_mid_run_leaves_no_container_network_or_volume) {
  if (auto why = tc::ready_daemon(); !why.empty())
    GTEST_SKIP() << why;
  auto dir = tc::run_dir("signal-" + std::to_string(GetParam()));
  auto log = dir.string() + ".log";
  auto pid =
    troupe::test::start_troupe_child({"run", "scenarios/etcd-local.json", "--backend", "compose",
                                      "--duration", "10m", "--out", dir.string()},
                                     log);
  // Deployed: the run is under way, each member in its running container.
  std::string id;
  ASSERT_TRUE(troupe::test::wait_until(
    [&] {
      id = tc::run_id_of(dir);
      return !id.empty() && troupe::test::file_contains(dir / "troupe.log", "deployed 3 nodes");
    },
    240s, 200ms))
    << troupe::test::file_text(log);
  auto running =
    troupe::test::docker().docker("ps -q --filter status=running --filter label=troupe.run=" + id);
  EXPECT_EQ(std::count(running.out.begin(), running.out.end(), '\n'), 3) << running.out;
  EXPECT_EQ(tc::count_labelled(id).total(), 3u + 1u + 3u);

  // Torn down before troupe exits; after kill -9 by its janitor.
  tc::expect_nothing_left_after(pid, GetParam(), dir, log, id, 240s, 180s);
}

INSTANTIATE_TEST_SUITE_P(compose_run, compose_signal, ::testing::Values(SIGKILL, SIGINT, SIGTERM),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return p.param == SIGKILL  ? std::string("kill_9")
                                  : p.param == SIGINT ? std::string("sigint")
                                                      : std::string("sigterm");
                         });

} // namespace

namespace {

// --keep: the stack stays (the nodes stopped by their agents), and the command troupe prints
// removes all of it; `troupe compose gc` finds nothing left after that.
TEST(compose_run, keep_leaves_the_stack_and_prints_the_command_that_removes_it) {
  if (auto why = tc::ready_daemon(); !why.empty())
    GTEST_SKIP() << why;
  auto dir = tc::run_dir("keep");
  auto o = troupe::test::troupe_cli("run scenarios/etcd-local.json --backend compose --keep "
                                    "--duration 5s --quiet --out " +
                                      troupe::test::shell_quote(dir.string()),
                                    300);
  ASSERT_NE(o.code, 2) << o.out;
  const auto id = tc::run_id_of(dir);
  ASSERT_FALSE(id.empty()) << o.out;
  const auto kept = tc::count_labelled(id);
  EXPECT_EQ(kept.containers, 3u) << tc::describe(kept);
  EXPECT_EQ(kept.networks, 1u) << tc::describe(kept);
  EXPECT_EQ(kept.volumes, 3u) << tc::describe(kept);
  tc::expect_printed_removal_leaves_nothing(o.out, id, 180);
  auto gc = troupe::test::troupe_cli("compose gc --run " + id, 120);
  EXPECT_EQ(gc.code, 0) << gc.out;
  EXPECT_NE(gc.out.find("removed 0 containers, 0 networks, 0 volumes"), std::string::npos)
    << gc.out;
}

} // namespace
