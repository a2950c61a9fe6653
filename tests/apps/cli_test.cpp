// The command line as a user meets it: exit codes (0 ok/pass, 1 an expectation failed, 2 bad
// input) and one-sentence errors, never a stack trace.

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "tests/support/observability_helpers.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/wait.hpp"
#include <gtest/gtest.h>

namespace {

using outcome = troupe::test::shell_outcome;
using troupe::test::troupe_cli;

std::string temp_file(const std::string& name, const std::string& content) {
  auto path = std::filesystem::path(troupe::test::build_dir()) / "cli-test" / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << content;
  return path.string();
}

std::string out_dir(const std::string& name) {
  return (std::filesystem::path(troupe::test::build_dir()) / "cli-test" / name).string();
}

/// `troupe jobs serve ARGS`, stopped by SIGINT (by its PID) once it says it listens.
outcome serve_until_listening(const std::string& args, const std::string& name) {
  const auto log = out_dir(name + ".out");
  std::filesystem::remove(log); // not the line an earlier run left there
  std::vector<std::string> argv{troupe::test::troupe_binary(), "jobs", "serve"};
  std::istringstream words{args};
  for (std::string w; words >> w;)
    argv.push_back(w);
  troupe::test::child serve{argv, log};
  outcome o;
  if (troupe::test::wait_until(
        [&] { return troupe::test::file_contains(log, "listening on port"); },
        std::chrono::seconds(30)))
    serve.signal(SIGINT);
  o.code = serve.wait(std::chrono::seconds(30));
  o.out = troupe::test::file_text(log);
  return o;
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
  for (const auto& e :
       std::filesystem::directory_iterator(troupe::test::source_dir() + "/scenarios")) {
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
  auto r =
    troupe_cli("run scenarios/chain-partition.json --check-determinism --out " + out_dir("det"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("deterministic: 2 runs, each a process of its own, gave the same trace "
                       "digest"),
            std::string::npos)
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
  const auto served = serve_until_listening(
    "--port 0 --db " + db + " --replay-config " + config + " --lease 1m30s", "lease");
  EXPECT_EQ(served.code, 0) << served.out;
  EXPECT_NE(served.out.find("a silent replay job times out after 1m30s"), std::string::npos)
    << served.out;
  EXPECT_NE(served.out.find("listening on port"), std::string::npos) << served.out;
  EXPECT_NE(served.out.find("every change is committed"), std::string::npos) << served.out;
  const auto db2 = out_dir("lease-seconds.db");
  std::filesystem::remove(db2);
  const auto seconds = serve_until_listening(
    "--port 0 --db " + db2 + " --replay-config " + config + " --lease 2.5", "lease-seconds");
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

TEST(cli, validate_with_a_backend_lists_what_it_cannot_do) {
  // etcd members without the link fabric: stop and restart work live; a partition does not
  // (no relays), and a clock skew never does (etcd is a Go binary: libfaketime cannot reach
  // its clock). The simulator can do all of it.
  auto file = temp_file("refusable.json", R"({
    "name": "refusable", "duration": "1m",
    "topology": {"layout": {"kind": "mesh"},
                 "groups": [{"name": "member", "role": "validator", "count": 3,
                             "node": {"model": "chain", "program": "etcd"}}]},
    "backend": {"name": "local", "fabric": false},
    "workloads": [{"kind": "steps", "steps": [
      {"at": "5s", "action": "restart", "nodes": ["member-1"]},
      {"at": "10s", "action": "partition", "sides": [["member-0"], ["member-1", "member-2"]]},
      {"at": "20s", "action": "heal"},
      {"at": "30s", "action": "skew", "nodes": ["member-2"], "offset": "2s"}
    ]}, {"kind": "chaos", "partitions": {}}]
  })");
  auto local = troupe_cli("validate " + file + " --backend local");
  EXPECT_EQ(local.code, 0) << local.out;
  EXPECT_NE(local.out.find("workloads[0].steps[1] (partition, at 10s): backend local cannot do "
                           "it: the local backend's link fabric is off"),
            std::string::npos)
    << local.out;
  EXPECT_NE(local.out.find("workloads[0].steps[3] (skew, at 30s): backend local cannot do it: "
                           "program etcd: clock skew works through libfaketime"),
            std::string::npos)
    << local.out;
  EXPECT_NE(local.out.find("is a Go binary"), std::string::npos) << local.out;
  EXPECT_NE(local.out.find("workloads[1].partitions (partition, random times)"), std::string::npos)
    << local.out;
  EXPECT_EQ(local.out.find("steps[0]"), std::string::npos) << "restart works live\n" << local.out;
  EXPECT_EQ(local.out.find("steps[2]"), std::string::npos) << "heal works live\n" << local.out;
  auto strict = troupe_cli("validate " + file + " --backend local --strict");
  EXPECT_EQ(strict.code, 2) << strict.out;
  auto sim = troupe_cli("validate " + file + " --backend sim --strict");
  EXPECT_EQ(sim.code, 0) << sim.out;
  EXPECT_NE(sim.out.find("backend sim can do every control and fault"), std::string::npos)
    << sim.out;
  auto unknown = troupe_cli("validate " + file + " --backend moon");
  EXPECT_EQ(unknown.code, 2) << unknown.out;
  EXPECT_NE(unknown.out.find("unknown backend \"moon\""), std::string::npos) << unknown.out;
}

TEST(cli, validate_with_a_backend_lists_the_link_profiles_it_cannot_shape) {
  // litecoind's relays carry byte streams: latency, jitter and bandwidth shape them, packet
  // loss cannot. A group's own link refines the topology's for its nodes (here: no loss).
  auto file = temp_file("lossy-links.json", R"({
    "name": "lossy-links", "duration": "1m",
    "topology": {"link": {"latency": "30ms", "loss": 0.02},
                 "groups": [{"name": "validator", "count": 2,
                             "node": {"model": "chain", "program": "litecoin-regtest"}},
                            {"name": "edge", "role": "observer", "count": 2, "link": {"latency": "80ms", "loss": 0},
                             "node": {"model": "chain", "program": "litecoin-regtest"}}]},
    "workloads": [], "expectations": []
  })");
  auto local = troupe_cli("validate " + file + " --backend local --strict");
  EXPECT_EQ(local.code, 2) << local.out;
  EXPECT_NE(local.out.find("topology.link (set_link, the whole run): backend local cannot do it: "
                           "packet loss is not supported for program litecoin-regtest"),
            std::string::npos)
    << local.out;
  EXPECT_EQ(local.out.find("topology.groups[1].link"), std::string::npos)
    << "latency alone is shaped live\n"
    << local.out;
  auto sim = troupe_cli("validate " + file + " --backend sim --strict");
  EXPECT_EQ(sim.code, 0) << sim.out;
  // troupe run refuses it before it starts a node: one sentence, exit 2.
  auto run =
    troupe_cli("run " + file + " --backend local --quiet --out " + out_dir("lossy-links-run"));
  EXPECT_EQ(run.code, 2) << run.out;
  EXPECT_NE(run.out.find("topology.link: the local backend cannot shape these links as written"),
            std::string::npos)
    << run.out;
}

// -- the traps a user hit: each one sentence --------------------------------------------------

TEST(cli, validate_and_run_say_per_group_whether_it_produces_blocks_and_why) {
  auto v = troupe_cli("validate scenarios/chain-sim.json");
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_NE(v.out.find("  group validator: 20 nodes lead (produce blocks): role \"validator\" "
                       "defaults to the group name, and model chain leads on every role but "
                       "\"observer\"\n"),
            std::string::npos)
    << v.out;
  EXPECT_NE(v.out.find("  group observer: 10 nodes follow (produce no blocks)"), std::string::npos)
    << v.out;
  // A group named "watch" with no role would lead: refused, with the fix.
  auto watch = temp_file("watch.json", R"({"name": "watch", "duration": "1m",
    "topology": {"groups": [{"name": "validator", "count": 2, "node": {"model": "chain"}},
                            {"name": "watch", "count": 100, "node": {"model": "chain"}}]}})");
  auto refused = troupe_cli("validate " + watch);
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.out.find("watch.json: topology.groups[1].role: is required for group "
                             "\"watch\": model chain produces blocks"),
            std::string::npos)
    << refused.out;
  EXPECT_NE(refused.out.find("add \"role\": \"validator\" (produces blocks) or \"role\": "
                             "\"observer\" (follows)"),
            std::string::npos)
    << refused.out;
  // The run's first lines say it, before anything else.
  auto run =
    troupe_cli("run scenarios/chain-split-brain.json --duration 40s --out " + out_dir("leaders"));
  EXPECT_EQ(run.out.rfind("group left: 5 nodes lead (produce blocks): role \"validator\" is "
                          "given, and model chain leads on every role but \"observer\"\n"
                          "group right: 5 nodes lead (produce blocks)",
                          0),
            0u)
    << run.out;
  // ...and the run's log keeps them.
  std::ifstream log{out_dir("leaders") + "/troupe.log"};
  std::string text{std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>()};
  EXPECT_NE(text.find("group left: 5 nodes lead"), std::string::npos) << text;
}

TEST(cli, a_run_starts_in_a_clean_directory_and_never_deletes_what_it_did_not_write) {
  namespace fs = std::filesystem;
  // A directory with someone else's file is refused before anything runs.
  const auto mine = out_dir("not-a-run");
  fs::remove_all(mine);
  fs::create_directories(mine);
  std::ofstream(mine + "/notes.txt") << "mine\n";
  auto refused = troupe_cli("run scenarios/chain-split-brain.json --duration 10s --out " + mine);
  EXPECT_EQ(refused.code, 2) << refused.out;
  EXPECT_NE(refused.out.find("--out " + mine +
                             " is not empty and holds \"notes.txt\", which a "
                             "troupe run does not write; choose a new or empty directory"),
            std::string::npos)
    << refused.out;
  EXPECT_TRUE(fs::exists(mine + "/notes.txt"));
  EXPECT_FALSE(fs::exists(mine + "/report.json"));
  EXPECT_FALSE(fs::exists(mine + "/troupe.log"));

  // A previous run's directory is emptied first: an old live run's node logs do not reach
  // the new run's report.
  const auto reused = out_dir("reused");
  auto first = troupe_cli("run scenarios/chain-split-brain.json --duration 10s --out " + reused);
  ASSERT_TRUE(fs::exists(reused + "/report.json")) << first.out;
  fs::create_directories(reused + "/nodes/left-0");
  std::ofstream(reused + "/nodes/left-0.log") << "ERROR from an old live run\n";
  std::ofstream(reused + "/jobs-old.db") << "old store";
  std::ofstream(reused + "/events.jsonl") << "{}\n";
  auto second = troupe_cli("run scenarios/chain-split-brain.json --duration 10s --out " + reused);
  EXPECT_EQ(second.code, 0) << second.out; // 10 s: over before the partition at 30 s
  EXPECT_FALSE(fs::exists(reused + "/nodes/left-0.log"));
  EXPECT_FALSE(fs::exists(reused + "/nodes/left-0"));
  EXPECT_FALSE(fs::exists(reused + "/jobs-old.db"));
  EXPECT_FALSE(fs::exists(reused + "/events.jsonl")); // not asked for this time
  EXPECT_TRUE(fs::exists(reused + "/report.junit.xml"));
  std::ifstream in{reused + "/report.json"};
  std::string report{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_EQ(report.find("left-0.log"), std::string::npos);
  EXPECT_EQ(report.find("old live run"), std::string::npos);
}

TEST(cli, runs_started_in_the_same_second_get_their_own_directories) {
  namespace fs = std::filesystem;
  // Runs without --out go to runs/<scenario>-<UTC timestamp> under the working directory.
  const auto cwd = out_dir("same-second");
  fs::remove_all(cwd);
  fs::create_directories(cwd + "/runs");
  // Taken: every name a run could get in the next five minutes, so each run must add a suffix.
  std::set<std::string> taken;
  const auto now = std::time(nullptr);
  for (int i = 0; i < 300; ++i) {
    const std::time_t t = now + i;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
    taken.insert(std::string("chain-split-brain-") + buf);
    fs::create_directory(cwd + "/runs/chain-split-brain-" + buf);
  }
  // Two at once, and one more.
  const std::string run = "timeout 120 " + troupe::test::troupe_binary() + " run " +
                          troupe::test::source_dir() +
                          "/scenarios/chain-split-brain.json --duration 10s --quiet";
  ASSERT_EQ(
    std::system(
      ("cd " + cwd + " && { " + run + " & " + run + " & wait; }; " + run + "; true").c_str()),
    0);
  std::set<std::string> with_reports;
  for (const auto& e : fs::directory_iterator(cwd + "/runs")) {
    const auto name = e.path().filename().string();
    if (fs::exists(e.path() / "report.json")) {
      with_reports.insert(name);
      const auto dash = name.rfind('-');
      EXPECT_TRUE(taken.count(name.substr(0, dash))) << name << " is not a taken name + suffix";
      EXPECT_GE(std::stoi(name.substr(dash + 1)), 2) << name;
    } else {
      EXPECT_TRUE(taken.count(name)) << name;
      EXPECT_TRUE(fs::is_empty(e.path())) << name << ": a taken directory was written to";
    }
  }
  EXPECT_EQ(with_reports.size(), 3u);
}
