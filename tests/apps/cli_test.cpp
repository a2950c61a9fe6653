// The command line as a user meets it: exit codes (0 ok/pass, 1 an expectation failed, 2 bad
// input) and one-sentence errors, never a stack trace.

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include "tests/support/paths.hpp"

namespace {

struct outcome {
  int code = -1;
  std::string out; ///< stdout and stderr together
};

outcome troupe_cli(const std::string& args) {
  const std::string cmd = "cd " + troupe::test::source_dir() + " && timeout 120 " + troupe::test::troupe_binary() + " " + args +
                          " 2>&1";
  outcome o;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p)
    return o;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
    o.out.append(buf.data(), n);
  int status = pclose(p);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

std::string temp_file(const std::string& name, const std::string& content) {
  auto path = std::filesystem::path(troupe::test::build_dir()) / "cli-test" / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << content;
  return path.string();
}

std::string out_dir(const std::string& name) {
  return (std::filesystem::path(troupe::test::build_dir()) / "cli-test" / name).string();
}

} // namespace

TEST(cli, help_and_version_exit_zero) {
  auto help = troupe_cli("--help");
  EXPECT_EQ(help.code, 0);
  for (const char* sub : {"validate", "topology", "run", "jobs"})
    EXPECT_NE(help.out.find(sub), std::string::npos) << sub;
  auto version = troupe_cli("--version");
  EXPECT_EQ(version.code, 0);
  EXPECT_NE(version.out.find("troupe 0."), std::string::npos);
}

TEST(cli, every_example_scenario_validates) {
  for (const auto& e : std::filesystem::directory_iterator(troupe::test::source_dir() + "/scenarios")) {
    if (e.path().extension() != ".json")
      continue;
    auto v = troupe_cli("validate " + e.path().string());
    EXPECT_EQ(v.code, 0) << e.path() << "\n" << v.out;
    EXPECT_NE(v.out.find(": ok ("), std::string::npos) << v.out;
  }
}

TEST(cli, bad_scenarios_exit_2_with_every_error_on_its_path) {
  auto bad = temp_file("bad.json", R"({"name": "bad", "duration": "soon",
    "topology": {"layout": "mesh", "groups": [{"name": "v", "count": -2, "node": {"model": "chain"}}]},
    "workloads": [{"kind": "spam"}]})");
  auto v = troupe_cli("validate " + bad);
  EXPECT_EQ(v.code, 2);
  EXPECT_NE(v.out.find("bad.json: duration: must be a duration like 250ms, 2s, 10m or 1h, got "
                       "\"soon\""),
            std::string::npos)
    << v.out;
  EXPECT_NE(v.out.find("bad.json: topology.groups[0].count: must be an integer in 1..100000000, "
                       "got -2"),
            std::string::npos)
    << v.out;
  EXPECT_NE(v.out.find("bad.json: workloads[0].kind: unknown workload kind \"spam\""),
            std::string::npos)
    << v.out;
  EXPECT_EQ(v.out.find("terminate"), std::string::npos);
  // run refuses it too, before starting anything.
  auto r = troupe_cli("run " + bad + " --out " + out_dir("bad-run"));
  EXPECT_EQ(r.code, 2);
  EXPECT_FALSE(std::filesystem::exists(out_dir("bad-run") + "/report.json"));
}

TEST(cli, missing_file_syntax_error_and_bad_flags_exit_2) {
  auto missing = troupe_cli("validate /nonexistent/scenario.json");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.out.find("cannot read scenario file /nonexistent/scenario.json"),
            std::string::npos);
  auto syntax = troupe_cli("validate " + temp_file("syntax.json", "{\"name\": }"));
  EXPECT_EQ(syntax.code, 2);
  EXPECT_NE(syntax.out.find("not valid JSON"), std::string::npos) << syntax.out;
  EXPECT_EQ(troupe_cli("run scenarios/chain-sim.json --duration soon").code, 2);
  EXPECT_EQ(troupe_cli("run scenarios/chain-sim.json --backend nope").code, 2);
  EXPECT_EQ(troupe_cli("run scenarios/chain-sim.json --no-such-flag").code, 2);
  EXPECT_EQ(troupe_cli("frobnicate").code, 2);
}

TEST(cli, topology_prints_text_and_dot) {
  auto text = troupe_cli("topology scenarios/chain-sim.json");
  EXPECT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("30 nodes"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("observer-9 [observer]"), std::string::npos);
  auto dot = troupe_cli("topology scenarios/chain-sim.json --format dot");
  EXPECT_EQ(dot.code, 0);
  EXPECT_EQ(dot.out.rfind("graph \"chain-sim\" {", 0), 0u) << dot.out.substr(0, 80);
  // Graphviz renders it (the setup script installs graphviz).
  auto dot_file = temp_file("t.dot", dot.out);
  EXPECT_EQ(std::system(("dot -Tsvg " + dot_file + " -o " + dot_file + ".svg").c_str()), 0);
  EXPECT_GT(std::filesystem::file_size(dot_file + ".svg"), 1000u);
}

TEST(cli, run_exit_codes_follow_the_verdict) {
  auto pass = troupe_cli("run scenarios/chain-sim.json --out " + out_dir("pass"));
  EXPECT_EQ(pass.code, 0) << pass.out;
  EXPECT_NE(pass.out.find("PASS consensus_liveness"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(out_dir("pass") + "/report.json"));
  auto fail = troupe_cli("run scenarios/chain-split-brain.json --out " + out_dir("fail"));
  EXPECT_EQ(fail.code, 1) << fail.out;
  EXPECT_NE(fail.out.find("FAIL convergence"), std::string::npos);
  EXPECT_NE(fail.out.find("reproduce: troupe run scenarios/chain-split-brain.json --seed 11"),
            std::string::npos);
  // --seed and --duration override the file and appear in the reproduce line.
  auto over = troupe_cli("run scenarios/chain-split-brain.json --seed 12 --duration 2m --out " +
                     out_dir("over"));
  EXPECT_NE(over.out.find("--seed 12 --duration 2m"), std::string::npos) << over.out;
}

TEST(cli, check_determinism_reports_same_digest) {
  auto r = troupe_cli("run scenarios/chain-partition.json --check-determinism --out " +
                  out_dir("det"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("deterministic: 2 runs gave the same trace digest"), std::string::npos)
    << r.out;
}

TEST(cli, duration_flags_take_units_or_seconds_and_say_what_is_wrong) {
  // A duration as in scenarios, or plain seconds: `jobs serve --lease 1m30s` starts (it is
  // stopped by SIGINT after 2 s and says where it committed).
  const auto db = out_dir("lease.db");
  std::filesystem::remove(db);
  const auto config = temp_file("lease-slices.json", R"([{"start_block_id": 1,
    "end_block_id": 100, "snapshot_path": "s.bin", "storage_type": "fs",
    "expected_integrity_hash": null, "leap_version": "5.0.2"}])");
  const auto served = troupe_cli("jobs serve --port 0 --db " + db + " --replay-config " + config +
                             " --lease 1m30s 2>&1 & pid=$!; sleep 2; kill -INT $pid; wait $pid");
  EXPECT_EQ(served.code, 0) << served.out;
  EXPECT_NE(served.out.find("a silent replay job times out after 1m30s"), std::string::npos)
    << served.out;
  EXPECT_NE(served.out.find("listening on port"), std::string::npos) << served.out;
  EXPECT_NE(served.out.find("every change is committed"), std::string::npos) << served.out;
  const auto db2 = out_dir("lease-seconds.db");
  std::filesystem::remove(db2);
  const auto seconds = troupe_cli("jobs serve --port 0 --db " + db2 + " --replay-config " + config +
                              " --lease 2.5 2>&1 & pid=$!; sleep 1; kill -INT $pid; wait $pid");
  EXPECT_EQ(seconds.code, 0) << seconds.out;
  EXPECT_NE(seconds.out.find("a silent replay job times out after 2.50s"), std::string::npos)
    << seconds.out;

  auto bad = troupe_cli("jobs serve --port 0 --db " + db + " --lease soon");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.out.find("--lease: must be a duration like 30s, 10m or 1h, or a number of "
                         "seconds, got \"soon\""),
            std::string::npos)
    << bad.out;
  auto zero = troupe_cli("jobs work --url http://127.0.0.1:1 --command true --timeout 0");
  EXPECT_EQ(zero.code, 2);
  EXPECT_NE(zero.out.find("--timeout: must be more than zero, got \"0\""), std::string::npos)
    << zero.out;
  auto run = troupe_cli("run scenarios/chain-sim.json --duration -5s");
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.out.find("--duration: must be"), std::string::npos) << run.out;
}

// -- issue 17: no input crashes troupe -------------------------------------------------------

TEST(cli, inputs_that_crashed_the_parser_exit_2_on_one_line) {
  // 100,000 levels of nesting: SIGSEGV before; 1e400: "internal error ... out_of_range.406"
  // and exit 3 before.
  auto deep = temp_file("deep.json", std::string(100'000, '[') + std::string(100'000, ']'));
  auto v = troupe_cli("validate " + deep);
  EXPECT_EQ(v.code, 2) << v.out.substr(0, 300);
  EXPECT_NE(v.out.find("deep.json: [0][0][0]"), std::string::npos) << v.out.substr(0, 300);
  EXPECT_NE(v.out.find("more than 64 levels deep"), std::string::npos) << v.out.substr(0, 300);
  EXPECT_EQ(std::count(v.out.begin(), v.out.end(), '\n'), 1) << v.out.substr(0, 300);
  auto big = temp_file("1e400.json", R"({"name": "x", "duration": "1m", "seed": 1e400})");
  v = troupe_cli("validate " + big);
  EXPECT_EQ(v.code, 2) << v.out;
  EXPECT_NE(v.out.find("1e400.json: seed: the number 1e400 is out of range"), std::string::npos)
    << v.out;
  EXPECT_EQ(v.out.find("internal error"), std::string::npos) << v.out;
}

TEST(cli, a_node_program_file_that_crashed_the_parser_is_named_on_its_path) {
  auto program = temp_file("deep-program.json", "{\"name\": " + std::string(100'000, '[') +
                                                  std::string(100'000, ']') + "}");
  auto f = temp_file("uses-deep-program.json", R"({"name": "p", "duration": "1m",
    "backend": "local",
    "topology": {"groups": [{"name": "v", "count": 1, "node": {"program": ")" +
                                                 program + R"("}}]}})");
  auto v = troupe_cli("validate " + f);
  EXPECT_EQ(v.code, 2) << v.out.substr(0, 400);
  EXPECT_NE(v.out.find("uses-deep-program.json: topology.groups[0].node.program: " + program +
                       ": name[0][0][0]"),
            std::string::npos)
    << v.out.substr(0, 400);
  EXPECT_NE(v.out.find("more than 64 levels deep"), std::string::npos) << v.out.substr(0, 400);
}

TEST(cli, a_topology_too_large_to_simulate_is_refused_from_its_counts) {
  // 10^8 nodes: std::bad_alloc (exit 3) before; 10^6 took 19 s and 1.36 GB to validate.
  for (const char* count : {"1000000", "100000000"}) {
    auto f = temp_file(std::string("huge-") + count + ".json",
                       std::string(R"({"name": "huge", "duration": "1m",
      "topology": {"layout": {"kind": "random", "degree": 8},
                   "groups": [{"name": "v", "count": )") +
                         count + R"(, "node": {"model": "chain"}}]},
      "workloads": [{"kind": "transactions", "rate": "1/s"}]})");
    auto v = troupe_cli("validate " + f);
    EXPECT_EQ(v.code, 2) << v.out;
    EXPECT_NE(v.out.find(std::string("topology.groups: ") + count +
                         " nodes in all (the sum of the groups' counts) is more than 100000"),
              std::string::npos)
      << v.out;
  }
  // Within the limits, validate counts the links instead of building the graph.
  auto ok = troupe_cli("validate scenarios/chain-sim.json");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("ok (30 nodes, at least 120 links, 1 workloads"), std::string::npos)
    << ok.out;
}

TEST(cli, seeds_outside_the_scenario_range_name_the_flag) {
  for (const char* seed : {"-1", "99999999999999999999", "0x10", "1e3", "''"}) {
    auto r = troupe_cli(std::string("run scenarios/chain-sim.json --seed ") + seed + " --out " +
                    out_dir("bad-seed"));
    EXPECT_EQ(r.code, 2) << seed << ": " << r.out;
    EXPECT_NE(r.out.find("--seed: must be an integer in 0..9223372036854775807 (the range of a "
                         "scenario's \"seed\"), got "),
              std::string::npos)
      << seed << ": " << r.out;
  }
  auto j = troupe_cli("jobs serve --seed -1 --port 0");
  EXPECT_EQ(j.code, 2) << j.out;
  EXPECT_NE(j.out.find("--seed: must be an integer in 0.."), std::string::npos) << j.out;
}
