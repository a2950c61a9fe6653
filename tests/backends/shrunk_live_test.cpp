// A shrunk schedule is an ordinary scenario, so it runs in both worlds: a split brain found
// and shrunk in the simulator, replayed on real litecoind nodes (`local`), fails the same way.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/paths.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

int troupe_cli(const std::string& args, std::string& out) {
  const std::string cmd = "cd " + troupe::test::source_dir() + " && timeout 150 " +
                          troupe::test::troupe_binary() + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p)
    return -1;
  std::array<char, 4096> buf;
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), p)) > 0;)
    out.append(buf.data(), n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

json read_json(const fs::path& p) {
  std::ifstream in{p};
  return json::parse(in, nullptr, false);
}

bool pid_files_left(const fs::path& run_dir) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(run_dir / "nodes", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->path().extension() == ".pid")
      return true;
  return false;
}

} // namespace

TEST(shrunk_live, a_schedule_shrunk_in_the_simulator_fails_the_same_way_on_real_nodes) {
  const auto dir = troupe::test::fresh_dir("shrunk-live");
  std::string out;
  ASSERT_EQ(troupe_cli("run tests/apps/data/split-brain-litecoin.json --quiet --out " +
                         (dir / "sim").string(),
                       out),
            1)
    << out;
  ASSERT_EQ(troupe_cli(
              "shrink " + (dir / "sim").string() + " --out " + (dir / "shrunk.json").string(), out),
            0)
    << out;
  const auto shrunk = read_json(dir / "shrunk.json");
  ASSERT_TRUE(shrunk.is_object()) << out;
  // Shrunk to one partition and a run that ends soon after it: short enough to run live.
  ASSERT_EQ(shrunk["workloads"].back()["steps"].size(), 1u) << shrunk.dump(2);
  EXPECT_LE(std::stoi(shrunk["duration"].get<std::string>()), 60) << shrunk["duration"];

  const int code = troupe_cli("run " + (dir / "shrunk.json").string() +
                                " --backend local --quiet --out " + (dir / "live").string(),
                              out);
  EXPECT_EQ(code, 1) << out;
  const auto live = read_json(dir / "live" / "report.json");
  ASSERT_TRUE(live.is_object()) << out;
  EXPECT_EQ(live["backend"], "local");
  EXPECT_TRUE(live["refusals"].empty()) << live["refusals"].dump();
  ASSERT_EQ(live["faults"].size(), 1u);
  EXPECT_EQ(live["faults"][0]["action"], "partition");
  const auto& conv = live["expectations"][0];
  EXPECT_EQ(conv["name"], "convergence");
  EXPECT_EQ(conv["pass"], false);
  const std::string summary = conv["summary"];
  EXPECT_NE(summary.find("never healed"), std::string::npos) << summary;
  // Whether a side mines a block in the seconds left is the live slot lottery's to say; the
  // failure itself, a partition that never heals, is the simulator's.
  EXPECT_FALSE(pid_files_left(dir / "live")) << "the local backend stops every node it started";
}
