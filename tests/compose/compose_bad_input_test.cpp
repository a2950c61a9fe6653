// What a user can get wrong on the compose backend is one sentence and exit code 2: no
// daemon, an image that is not there, a published port that another process holds.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "tests/compose/compose_helpers.hpp"

namespace {

namespace tc = troupe::test::compose;
using troupe::test::shell_quote;
using troupe::test::troupe_cli;

/// The lines of `out` that troupe's error printer wrote ("troupe: ...").
size_t troupe_lines(const std::string& out) {
  size_t n = 0;
  for (size_t at = out.find("troupe: "); at != std::string::npos; at = out.find("troupe: ", at + 1))
    n += at == 0 || out[at - 1] == '\n';
  return n;
}

/// `scenario` (a file under scenarios/) with its backend object replaced, in `dir`.
std::string with_backend(const std::string& scenario, const nlohmann::json& backend,
                         const std::filesystem::path& dir) {
  auto s =
    tc::read_json(std::filesystem::path{troupe::test::source_dir()} / "scenarios" / scenario);
  s["backend"] = backend;
  std::filesystem::create_directories(dir);
  auto path = dir / scenario;
  std::ofstream{path} << s.dump(2);
  return path.string();
}

TEST(compose_bad_input, no_daemon) {
  auto dir = tc::run_dir("no-daemon");
  auto o = troupe::test::shell("DOCKER_HOST=unix:///tmp/troupe-no-such-daemon.sock " +
                                 shell_quote(troupe::test::troupe_binary()) +
                                 " run scenarios/etcd-local.json --backend compose --quiet --out " +
                                 shell_quote(dir.string()),
                               120, troupe::test::source_dir());
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(
    o.out.find("troupe: no Docker daemon answers at unix:///tmp/troupe-no-such-daemon.sock"),
    std::string::npos)
    << o.out;
  EXPECT_EQ(troupe_lines(o.out), 1u) << o.out;
}

TEST(compose_bad_input, missing_image) {
  if (auto why = tc::ready_daemon(); !why.empty())
    GTEST_SKIP() << why;
  auto dir = tc::run_dir("missing-image");
  auto file = with_backend("etcd-local.json",
                           {{"name", "compose"}, {"image", {{"etcd", "troupe/no-such-image:1"}}}},
                           dir.string() + "-scenario");
  auto o = troupe_cli("run " + shell_quote(file) + " --quiet --out " + shell_quote(dir.string()));
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("the image troupe/no-such-image:1 of program etcd is not on the Docker "
                       "daemon"),
            std::string::npos)
    << o.out;
  EXPECT_NE(o.out.find("troupe image build etcd --tag troupe/no-such-image:1"), std::string::npos)
    << o.out;
  EXPECT_EQ(troupe_lines(o.out), 1u) << o.out;
}

TEST(compose_bad_input, busy_published_port) {
  if (auto why = tc::ready_daemon(); !why.empty())
    GTEST_SKIP() << why;
  // Another process listens on 127.0.0.1:PORT, the client port the program pins for member-0.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);

  auto dir = tc::run_dir("busy-port");
  auto scratch = std::filesystem::path{dir.string() + "-scenario"};
  std::filesystem::create_directories(scratch);
  auto program = tc::read_json(std::filesystem::path{troupe::test::source_dir()} / "backends" /
                               "programs" / "etcd.json");
  program["ports"]["client_port"] = port; // member-0's: base + index 0
  std::ofstream{scratch / "etcd.json"} << program.dump(2);
  auto s = tc::read_json(std::filesystem::path{troupe::test::source_dir()} / "scenarios" /
                         "etcd-local.json");
  s["backend"] = {{"name", "compose"}};
  s["topology"]["groups"][0]["node"]["program"] = (scratch / "etcd.json").string();
  std::ofstream{scratch / "scenario.json"} << s.dump(2);
  auto o = troupe_cli("run " + shell_quote((scratch / "scenario.json").string()) +
                      " --quiet --out " + shell_quote(dir.string()));
  ::close(fd);
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("port " + std::to_string(port) +
                       " (client_port of member-0) is already in "
                       "use by another process"),
            std::string::npos)
    << o.out;
  EXPECT_EQ(troupe_lines(o.out), 1u) << o.out;
}

} // namespace

namespace {

// A deploy that fails once the stack is up (every member exits at once: a flag etcd does not
// know) is one sentence naming the node, and the run's containers, network and volumes are
// gone when troupe exits.
TEST(compose_bad_input, a_failed_deploy_leaves_nothing) {
  if (auto why = tc::ready_daemon(); !why.empty())
    GTEST_SKIP() << why;
  auto dir = tc::run_dir("failed-deploy");
  auto scratch = std::filesystem::path{dir.string() + "-scenario"};
  std::filesystem::create_directories(scratch);
  const std::filesystem::path src{troupe::test::source_dir()};
  auto program = tc::read_json(src / "backends" / "programs" / "etcd.json");
  program["args"].push_back("--no-such-flag-for-etcd");
  std::ofstream{scratch / "etcd.json"} << program.dump(2);
  auto s = tc::read_json(src / "scenarios" / "etcd-local.json");
  s["backend"] = {{"name", "compose"}};
  s["topology"]["groups"][0]["node"]["program"] = (scratch / "etcd.json").string();
  std::ofstream{scratch / "scenario.json"} << s.dump(2);
  auto o = troupe_cli("run " + shell_quote((scratch / "scenario.json").string()) +
                        " --quiet --out " + shell_quote(dir.string()),
                      300);
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("exited while starting"), std::string::npos) << o.out;
  EXPECT_EQ(troupe_lines(o.out), 1u) << o.out;
  const auto id = tc::run_id_of(dir);
  ASSERT_FALSE(id.empty()) << o.out;
  const auto left = tc::count_labelled(id);
  EXPECT_EQ(left.total(), 0u) << tc::describe(left);
}

} // namespace

namespace {

// "mode": "swarm" on a daemon that is in no swarm (the test daemon as it starts): one sentence
// naming `docker swarm init`, exit 2, before anything is made. A daemon that is in a swarm
// already (one this test did not make) is left alone: the test skips.
TEST(compose_bad_input, swarm_mode_on_a_daemon_in_no_swarm) {
  if (auto why = tc::ready_daemon(); !why.empty())
    GTEST_SKIP() << why;
  auto state = troupe::test::docker().docker("info --format '{{.Swarm.LocalNodeState}}'").out;
  if (state.rfind("inactive", 0) != 0)
    GTEST_SKIP() << "the test daemon is in a swarm (state " << state
                 << "): this test needs one in none, and leaves a swarm it did not make alone";
  auto dir = tc::run_dir("swarm-no-manager");
  auto o = troupe_cli("run scenarios/etcd-swarm.json --quiet --out " + shell_quote(dir.string()));
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("troupe: \"mode\": \"swarm\" needs the Docker daemon at "),
            std::string::npos)
    << o.out;
  EXPECT_NE(o.out.find("to be a Swarm manager, and it is not (its swarm state: inactive)"),
            std::string::npos)
    << o.out;
  EXPECT_NE(o.out.find("docker swarm init"), std::string::npos) << o.out;
  EXPECT_EQ(troupe_lines(o.out), 1u) << o.out;
  EXPECT_TRUE(tc::run_id_of(dir).empty()) << "nothing is deployed";
}

} // namespace
