// troupe image build: a litecoin image built on the test's Docker daemon runs its binary, and
// the errors a user can cause are one sentence with exit code 2.

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/docker_daemon.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"

namespace {

using troupe::test::docker;
using troupe::test::troupe_cli;

TEST(image_build, litecoin_image_runs_its_binary) {
  auto& d = docker();
  if (!d.error().empty())
    GTEST_SKIP() << d.error();
  auto built = troupe_cli("image build litecoin-regtest --tag troupe/litecoin-test:latest", 300);
  ASSERT_EQ(built.code, 0) << built.out;
  EXPECT_NE(built.out.find("/usr/lib/litecoin/litecoind"), std::string::npos) << built.out;
  // No shell, no base image: the binary itself answers, with its libraries from the image.
  auto v = d.docker("run --rm --network none --entrypoint /usr/lib/litecoin/litecoind "
                    "troupe/litecoin-test:latest --version");
  ASSERT_EQ(v.code, 0) << v.out;
  EXPECT_NE(v.out.find("Litecoin Core version v0.21"), std::string::npos) << v.out;
  auto agent = d.docker("run --rm --network none troupe/litecoin-test:latest --version");
  EXPECT_EQ(agent.code, 0) << agent.out;
  EXPECT_NE(agent.out.find("troupe "), std::string::npos) << agent.out;
  auto label = d.docker("image inspect --format '{{index .Config.Labels \"troupe.command\"}}' "
                        "troupe/litecoin-test:latest");
  EXPECT_NE(label.out.find("/usr/lib/litecoin/litecoind"), std::string::npos) << label.out;
  d.docker("image rm troupe/litecoin-test:latest");
}

TEST(image_build, a_program_that_is_not_installed_is_one_sentence) {
  auto dir = troupe::test::fresh_dir("image-missing");
  std::ofstream{dir / "ghost.json"} << R"({"name": "ghost", "binary": "ghost-node-xyz",
    "package": "ghost-node", "args": [], "adapter": {"kind": "http-json", "url": "http://x",
    "status": {"path": "/", "height": "/h", "tip": "/t"}}})";
  auto o = troupe_cli("image build " + troupe::test::shell_quote((dir / "ghost.json").string()));
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("apt-get install ghost-node"), std::string::npos) << o.out;
}

TEST(image_build, no_daemon_is_one_sentence) {
  auto o = troupe::test::shell("DOCKER_HOST=unix:///tmp/troupe-no-such-daemon.sock " +
                                 troupe::test::shell_quote(troupe::test::troupe_binary()) +
                                 " image build litecoin-regtest",
                               60);
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("no Docker daemon answers at unix:///tmp/troupe-no-such-daemon.sock"),
            std::string::npos)
    << o.out;
}

} // namespace
