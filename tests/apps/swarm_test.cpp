// `troupe swarm` as a user meets it: many seeds of one scenario, the failing ones found with
// a command that repeats them, --vary drawn from the seed, shards that merge into the whole,
// the Kubernetes Job that spreads it, Ctrl-C that keeps what finished.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/observability_helpers.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/wait.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using outcome = troupe::test::shell_outcome;
using troupe::test::troupe_cli;

json read_json(const fs::path& p) {
  std::ifstream in{p};
  return json::parse(in, nullptr, false);
}

const std::string example = "scenarios/chain-swarm.json";

} // namespace

TEST(swarm, fifty_seeds_find_the_failing_seed_and_its_reproduce_command_repeats_it) {
  const auto dir = troupe::test::fresh_dir("swarm-50");
  auto r = troupe_cli("swarm " + example + " --seeds 1..50 -j2 --out " + dir.string());
  ASSERT_EQ(r.code, 1) << r.out;
  const auto s = read_json(dir / "swarm.json");
  ASSERT_TRUE(s.is_object()) << r.out;
  EXPECT_EQ(s["ran"], 50);
  EXPECT_EQ(s["passed"], 49);
  ASSERT_EQ(s["failing"].size(), 1u) << s["failing"].dump();
  const auto& f = s["failing"][0];
  EXPECT_EQ(f["seed"], 14);
  EXPECT_EQ(f["failed"], json::array({"consensus_liveness"}));
  EXPECT_EQ(f["reproduce"], "troupe run " + example + " --seed 14");
  EXPECT_NE(r.out.find("reproduce: troupe run " + example + " --seed 14"), std::string::npos)
    << r.out;
  // The pass rate per expectation and the spread of the key figures, for people too.
  EXPECT_EQ(s["expectations"][0]["name"], "consensus_liveness");
  EXPECT_DOUBLE_EQ(s["expectations"][0]["pass_rate"].get<double>(), 0.98);
  EXPECT_EQ(s["figures"]["height_max"]["seeds"], 50);
  const auto html = troupe::test::file_text(dir / "swarm.html");
  EXPECT_NE(html.find("troupe run " + example + " --seed 14"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"result\">98%</td>"), std::string::npos);
  EXPECT_NE(html.find("id=\"figure-height_max\""), std::string::npos);

  // The reproduce command, as printed, gives the same failure and the same digest.
  json seed14;
  for (const auto& run : s["runs"])
    if (run["seed"] == 14)
      seed14 = run;
  const auto again = troupe::test::fresh_dir("swarm-50-again");
  auto rerun = troupe_cli(f["reproduce"].get<std::string>().substr(strlen("troupe ")) +
                          " --quiet --out " + again.string());
  EXPECT_EQ(rerun.code, 1) << rerun.out;
  const auto report = read_json(again / "report.json");
  EXPECT_EQ(report["digest"], seed14["digest"]);
  EXPECT_EQ(report["expectations"][0]["pass"], false);
  EXPECT_EQ(report["expectations"][0]["summary"], seed14["failed"][0]["summary"]);
}

TEST(swarm, vary_draws_the_fault_parameters_from_the_seed_and_records_them) {
  const auto a = troupe::test::fresh_dir("vary-a"), b = troupe::test::fresh_dir("vary-b");
  const auto c = troupe::test::fresh_dir("vary-c");
  troupe_cli("run " + example + " --seed 7 --vary --quiet --out " + a.string());
  troupe_cli("run " + example + " --seed 7 --vary --quiet --out " + b.string());
  troupe_cli("run " + example + " --seed 8 --vary --quiet --out " + c.string());
  const auto ra = read_json(a / "report.json"), rb = read_json(b / "report.json");
  const auto rc = read_json(c / "report.json");
  ASSERT_TRUE(ra.contains("vary")) << ra.dump().substr(0, 300);
  const auto& drawn = ra["vary"]["chaos"];
  for (const char* k : {"partitions.duration_max", "restarts.delay_max"})
    EXPECT_TRUE(drawn.contains(k)) << k;
  EXPECT_EQ(ra["vary"], rb["vary"]);
  EXPECT_EQ(ra["digest"], rb["digest"]);
  EXPECT_NE(ra["vary"], rc["vary"]);
  EXPECT_EQ(ra["reproduce"], "troupe run " + example + " --seed 7 --vary");
  // The run directory holds the scenario as it ran, with the drawn values in place.
  const auto ran = read_json(a / "scenario.json");
  EXPECT_EQ(ran["workloads"][0]["partitions"]["duration_max"], drawn["partitions.duration_max"]);
  EXPECT_FALSE(ran["workloads"][0].contains("vary"));

  // A swarm's --vary gives each seed what a run of that seed alone draws.
  const auto sw = troupe::test::fresh_dir("vary-swarm");
  auto r = troupe_cli("swarm " + example + " --seeds 6..8 -j2 --vary --out " + sw.string());
  ASSERT_TRUE(r.code == 0 || r.code == 1) << r.out;
  const auto s = read_json(sw / "swarm.json");
  EXPECT_EQ(s["vary"], true);
  ASSERT_EQ(s["runs"].size(), 3u);
  EXPECT_EQ(s["runs"][1]["seed"], 7);
  EXPECT_EQ(s["runs"][1]["vary"], ra["vary"]);
  EXPECT_EQ(s["runs"][1]["digest"], ra["digest"]);
}

TEST(swarm, shards_merge_into_the_unsharded_result) {
  const auto whole = troupe::test::fresh_dir("shard-whole");
  auto r = troupe_cli("swarm " + example + " --seeds 10..21 -j2 --out " + whole.string());
  ASSERT_EQ(r.code, 1) << r.out; // seed 14 fails
  std::string dirs;
  for (int k = 0; k < 3; ++k) {
    const auto d = troupe::test::fresh_dir("shard-" + std::to_string(k));
    auto part = troupe_cli("swarm " + example + " --seeds 10..21 -j2 --shard " + std::to_string(k) +
                           "/3 --out " + d.string());
    EXPECT_TRUE(part.code == 0 || part.code == 1) << part.out;
    EXPECT_EQ(read_json(d / "swarm.json")["ran"], 4);
    dirs += " " + d.string();
  }
  const auto merged = troupe::test::fresh_dir("shard-merged");
  auto m = troupe_cli("swarm merge" + dirs + " --out " + merged.string());
  EXPECT_EQ(m.code, 1) << m.out;
  EXPECT_EQ(read_json(merged / "swarm.json"), read_json(whole / "swarm.json"));
  EXPECT_TRUE(fs::exists(merged / "swarm.html"));

  // Not every shard, or one twice: refused, nothing merged.
  const auto partial = troupe::test::fresh_dir("shard-partial");
  auto bad =
    troupe_cli("swarm merge " + (fs::path(dirs.substr(1, dirs.find(' ', 1) - 1))).string() +
               " --out " + partial.string());
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("1 of 3 shards given"), std::string::npos) << bad.out;
  EXPECT_FALSE(fs::exists(partial / "swarm.json"));
}

TEST(swarm, bad_input_is_one_sentence_and_exit_2) {
  const auto dir = troupe::test::fresh_dir("swarm-bad");
  for (const auto& [args, says] : std::vector<std::pair<std::string, std::string>>{
         {"swarm " + example, "--seeds A..B is required"},
         {"swarm " + example + " --seeds 9..3", "--seeds: must be A..B"},
         {"swarm " + example + " --seeds 1..3 --shard 3/3", "--shard: must be K/M"},
         {"swarm scenarios/chain-sim.json --seeds 1..3 --vary", "declares no ranges"},
         {"swarm " + example + " --seeds 1..3 --emit k8s-job", "--shards M is required"},
         {"swarm " + example + " --seeds 1..3 --emit helm --shards 2", "only \"k8s-job\""},
         {"swarm merge " + dir.string(), "holds no readable swarm.json"}}) {
    auto r = troupe_cli(args + " --out " + (dir / "out").string());
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(says), std::string::npos) << args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(dir / "out" / "swarm.json")) << args;
  }
}

TEST(swarm, vary_ranges_are_checked_like_every_other_key) {
  const auto dir = troupe::test::fresh_dir("vary-bad");
  auto text = troupe::test::file_text(troupe::test::source_dir() + "/" + example);
  const std::string good =
    R"("vary": {"partitions.duration_max": ["5s", "40s"], "restarts.delay_max": ["10s", "60s"]})";
  ASSERT_NE(text.find(good), std::string::npos);
  text.replace(text.find(good), good.size(),
               R"("vary": {"partitions.bogus": ["1s", "2s"], "restarts.delay_max": ["9s"], )"
               R"("partitions.split": [0.5, 2], "clock_skew.offset_max": ["1s", "2s"]})");
  const auto file = dir / "bad-vary.json";
  std::ofstream(file) << text;
  auto r = troupe_cli("validate " + file.string());
  EXPECT_EQ(r.code, 2) << r.out;
  for (const char* says :
       {"workloads[0].vary[\"partitions.bogus\"]: cannot be varied; allowed: restarts.delay_min",
        "workloads[0].vary[\"restarts.delay_max\"]: must be [min, max]",
        "workloads[0].vary[\"partitions.split\"]: must lie within 0.01..0.99",
        "workloads[0].vary[\"clock_skew.offset_max\"]: varies \"clock_skew\", which this "
        "workload does not have"})
    EXPECT_NE(r.out.find(says), std::string::npos) << says << "\n" << r.out;
}

TEST(swarm, emits_a_kubernetes_indexed_job_for_its_shards) {
  auto r = troupe_cli("swarm " + example +
                      " --seeds 1..1000 --vary -j2 --emit k8s-job --shards 8 "
                      "--image registry.local/troupe:0.1");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto golden = troupe::test::source_dir() + "/tests/apps/data/swarm-k8s-job.json";
  EXPECT_EQ(json::parse(r.out, nullptr, false), read_json(golden))
    << "the emitted Job changed; if on purpose, update " << golden << " with:\n"
    << "troupe swarm " << example << " --seeds 1..1000 --vary -j2 --emit k8s-job --shards 8 "
    << "--image registry.local/troupe:0.1";
  if (troupe::test::shell("command -v kubectl >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "kubectl is not installed: the Job is checked against the golden file only";
  const auto file = troupe::test::fresh_dir("k8s-job") / "job.json";
  std::ofstream(file) << r.out;
  const std::string cmd = "kubectl apply --dry-run=client -f " + file.string() + " 2>&1";
  outcome o;
  FILE* p = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  for (size_t n; p && (n = fread(buf.data(), 1, buf.size(), p)) > 0;)
    o.out.append(buf.data(), n);
  o.code = p ? pclose(p) : -1;
  if (o.code != 0 && o.out.find("connection refused") != std::string::npos)
    GTEST_SKIP() << "kubectl has no API server to check the Job against (client dry runs ask "
                    "the server for its API): checked against the golden file only";
  EXPECT_EQ(o.code, 0) << o.out;
  EXPECT_NE(o.out.find("job.batch/troupe-swarm-chain-swarm created (dry run)"), std::string::npos)
    << o.out;
}

TEST(swarm, a_seed_past_its_timeout_is_killed_and_counted_as_failed) {
  const auto dir = troupe::test::fresh_dir("swarm-timeout");
  const auto start = std::chrono::steady_clock::now();
  auto r = troupe_cli("swarm tests/apps/data/slow-chain.json --seeds 1..2 -j2 --timeout 2s --out " +
                      dir.string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
  const auto s = read_json(dir / "swarm.json");
  ASSERT_EQ(s["runs"].size(), 2u) << r.out;
  EXPECT_EQ(s["errors"], 2);
  for (const auto& run : s["runs"]) {
    EXPECT_EQ(run["verdict"], "timeout") << run.dump();
    EXPECT_NE(run["reason"].get<std::string>().find("per-seed timeout of 2 s"), std::string::npos);
  }
  EXPECT_NE(r.out.find("seed 1: timeout: killed after the per-seed timeout"), std::string::npos)
    << r.out;
}

TEST(swarm, ctrl_c_stops_the_children_and_keeps_what_finished) {
  const auto dir = troupe::test::fresh_dir("swarm-sigint");
  const auto out = dir / "swarm";
  troupe::test::child swarm{{troupe::test::troupe_binary(), "swarm",
                             troupe::test::source_dir() + "/" + example, "--seeds", "1..100000",
                             "-j2", "--out", out.string()},
                            dir / "console.log"};
  ASSERT_TRUE(troupe::test::wait_until([&] { return fs::exists(out / "seed-3" / "report.json"); },
                                       std::chrono::seconds(60)));
  swarm.signal(SIGINT);
  EXPECT_EQ(swarm.wait(std::chrono::seconds(30)), 130);
  const auto s = read_json(out / "swarm.json");
  ASSERT_TRUE(s.is_object()) << troupe::test::file_text(dir / "console.log");
  EXPECT_EQ(s["verdict"], "interrupted");
  EXPECT_EQ(s["interrupted"], true);
  EXPECT_GE(s["ran"].get<int>(), 3);
  EXPECT_LT(s["ran"].get<int>(), 100000);
  // No child is left running (the pattern's class keeps pgrep from finding its own shell).
  EXPECT_EQ(troupe::test::shell("pgrep -f -- '--out " + out.string() + "/seed-[0-9]' >/dev/null"),
            1);
}
