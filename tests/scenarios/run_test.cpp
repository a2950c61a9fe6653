// Simulated runs end to end: the example scenarios give their verdicts, every expectation has
// a passing and a failing case, and a run is a pure function of (scenario, seed).

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "actors/json_read.hpp"
#include "actors/runner.hpp"
#include "actors/scenario/builder.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "backends/sim/determinism.hpp"
#include "report/report.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/report_lookup.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::filesystem::path out_dir(const std::string& name) {
  auto dir = std::filesystem::path(troupe::test::build_dir()) / "test-runs" / name;
  std::filesystem::remove_all(dir);
  return dir;
}

run_result run_file(const std::string& file, const std::string& out,
                    std::optional<uint64_t> seed = std::nullopt) {
  register_catalog();
  run_request req;
  req.scenario_path = "scenarios/" + file;
  req.out = out_dir(out);
  req.quiet = true;
  req.seed = seed;
  return run_scenario(load_scenario(troupe::test::source_dir() + "/scenarios/" + file), req);
}

run_result run_built(const scenario& s, const std::string& out) {
  run_request req;
  req.out = out_dir(out);
  req.quiet = true;
  return run_scenario(s, req);
}

const json& expectation(const json& report, const std::string& name) {
  return troupe::test::verdict_of(report, name);
}

// A small network for focused cases.
scenario_builder small(const std::string& name) {
  register_catalog();
  return ScenarioBuilder::topology_with([](auto& t) {
           t.layout_random(4)
             .link(50ms, 10ms)
             .group("validator", 8)
             .param("active_slot_coeff", 0.03);
           t.group("observer", 2);
         })
    .named(name)
    .with_seed(5)
    .with_run_duration(5min);
}

json without_wall_time(json r) {
  r["timing"].erase("wall_seconds");
  r["timing"].erase("speedup");
  return r;
}

} // namespace

TEST(scenarios, chain_sim_passes_with_a_full_report) {
  auto r = run_file("chain-sim.json", "chain-sim");
  EXPECT_EQ(r.exit_code, 0) << console_summary(r.report);
  const auto& rep = r.report;
  EXPECT_EQ(rep["verdict"], "pass");
  EXPECT_EQ(rep["scenario"], "chain-sim");
  EXPECT_EQ(rep["seed"], 42);
  EXPECT_EQ(rep["backend"], "sim");
  EXPECT_EQ(rep["digest"].get<std::string>().size(), 16u);
  EXPECT_EQ(rep["nodes"].size(), 30u);
  EXPECT_EQ(rep["expectations"].size(), 4u);
  EXPECT_EQ(rep["series"]["heights"].size(), 30u);
  EXPECT_GE(rep["series"]["time_s"].size(), 590u);
  EXPECT_GT(rep["counters"]["messages"].get<uint64_t>(), 10000u);
  EXPECT_GT(rep["counters"]["forks"].get<uint64_t>(), 0u); // forks happen for real
  EXPECT_EQ(rep["counters"]["txs_submitted"], 6000);
  EXPECT_GT(rep["counters"]["txs_included"].get<uint64_t>(), 4000u);
  EXPECT_NEAR(rep["timing"]["simulated_seconds"].get<double>(), 600.0, 1.0);
  EXPECT_TRUE(std::filesystem::exists(r.run_dir / "report.json"));
  // Finality advances on every node.
  for (const auto& n : rep["nodes"]) {
    EXPECT_TRUE(n["up"].get<bool>());
    EXPECT_GT(n["final_height"].get<uint64_t>(), 50u);
  }
}

TEST(scenarios, healed_partition_converges) {
  auto r = run_file("chain-partition.json", "chain-partition");
  EXPECT_EQ(r.exit_code, 0) << console_summary(r.report);
  const auto& conv = expectation(r.report, "convergence");
  EXPECT_TRUE(conv["pass"].get<bool>());
  EXPECT_NEAR(conv["evidence"]["last_fault_healed_s"].get<double>(), 180.0, 0.01);
  ASSERT_EQ(r.report["faults"].size(), 1u);
  EXPECT_EQ(r.report["faults"][0]["action"], "partition");
  EXPECT_NEAR(r.report["faults"][0]["start_s"].get<double>(), 60.0, 0.01);
  EXPECT_NEAR(r.report["faults"][0]["end_s"].get<double>(), 180.0, 0.01);
}

TEST(scenarios, events_jsonl_traces_deliveries_drops_and_faults_within_its_cap) {
  register_catalog();
  run_request req;
  req.out = out_dir("events");
  req.quiet = true;
  req.write_events = true;
  req.events_bytes_max = 4u << 20;
  auto r = run_scenario(
    load_scenario(troupe::test::source_dir() + "/scenarios/chain-partition.json"), req);
  const auto path = r.run_dir / "events.jsonl";
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_LE(std::filesystem::file_size(path), 4u << 20);
  std::ifstream in{path};
  std::string line;
  std::map<std::string, size_t> kinds;
  size_t lines = 0;
  bool truncated = false;
  while (std::getline(in, line)) {
    auto j = json::parse(line); // every line is one JSON object
    EXPECT_FALSE(truncated) << "the truncation marker must be the last line";
    if (j.value("truncated", false)) {
      truncated = true;
      continue;
    }
    ++kinds[j["event"].get<std::string>()];
    ++lines;
  }
  EXPECT_TRUE(truncated); // a 6-minute, 30-node run writes far more than 4 MiB
  EXPECT_GT(lines, 1000u);
  EXPECT_GT(kinds["deliver"], 0u);
  EXPECT_EQ(kinds["partition"], 1u); // the partition at 1m lies within the first 4 MiB
  EXPECT_GT(kinds["drop_partition"], 0u);
}

TEST(scenarios, split_brain_fails_naming_both_sides_tips) {
  auto r = run_file("chain-split-brain.json", "chain-split-brain");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.report["verdict"], "fail");
  const auto& conv = expectation(r.report, "convergence");
  EXPECT_FALSE(conv["pass"].get<bool>());
  EXPECT_EQ(conv["evidence"]["open_fault"], "partition");
  // The tips at the end belong to the two sides: no tip holds nodes of both.
  const auto& tips = conv["evidence"]["tips_at_end"];
  ASSERT_GE(tips.size(), 2u);
  bool left = false, right = false;
  for (auto it = tips.begin(); it != tips.end(); ++it) {
    bool has_left = false, has_right = false;
    for (const auto& n : it.value()["nodes"]) {
      has_left |= n.get<std::string>().rfind("left-", 0) == 0;
      has_right |= n.get<std::string>().rfind("right-", 0) == 0;
    }
    EXPECT_FALSE(has_left && has_right) << it.key();
    left |= has_left;
    right |= has_right;
  }
  EXPECT_TRUE(left && right);
  EXPECT_NE(conv["summary"].get<std::string>().find("never healed"), std::string::npos);
  // Both sides finalize their own chains: safety fails too, with the conflict as evidence.
  const auto& safety = expectation(r.report, "safety");
  EXPECT_FALSE(safety["pass"].get<bool>());
  EXPECT_GT(safety["evidence"]["violations"].get<uint64_t>(), 0u);
  EXPECT_NE(console_summary(r.report).find("reproduce: troupe run scenarios/chain-split-brain.json"
                                           " --seed 11"),
            std::string::npos);
}

TEST(scenarios, chaos_with_loss_passes) {
  auto r = run_file("chain-chaos.json", "chain-chaos");
  EXPECT_EQ(r.exit_code, 0) << console_summary(r.report);
  EXPECT_GT(r.report["counters"]["drops"].get<uint64_t>(), 0u);
  size_t restarts = 0, partitions = 0;
  for (const auto& f : r.report["faults"]) {
    restarts += f["action"] == "kill";
    partitions += f["action"] == "partition";
  }
  EXPECT_GT(restarts, 3u);
  EXPECT_GT(partitions, 1u);
}

TEST(scenarios, same_seed_same_digest_and_report_different_seed_different_digest) {
  auto a = run_file("chain-chaos.json", "det-a");
  auto b = run_file("chain-chaos.json", "det-b");
  EXPECT_EQ(a.report["digest"], b.report["digest"]);
  EXPECT_EQ(without_wall_time(a.report), without_wall_time(b.report));
  auto c = run_file("chain-chaos.json", "det-c", 4);
  EXPECT_NE(a.report["digest"], c.report["digest"]);
}

TEST(scenarios, ten_seeds_twice_each_give_stable_distinct_digests) {
  std::set<std::string> digests;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    auto s = small("seeds").with_seed(seed).with_run_duration(1min).build();
    auto a = run_built(s, "seed-a");
    auto b = run_built(s, "seed-b");
    EXPECT_EQ(a.report["digest"], b.report["digest"]) << seed;
    digests.insert(a.report["digest"].get<std::string>());
  }
  EXPECT_EQ(digests.size(), 10u);
}

TEST(scenarios, check_determinism_passes_on_a_pure_scenario) {
  register_catalog();
  run_request req;
  req.out = out_dir("check-determinism");
  auto s = small("check").with_run_duration(1min).transactions_with(5).build();
  auto check = backends::check_determinism(s, req);
  EXPECT_FALSE(check.divergence.diverged) << backends::describe(check);
  EXPECT_EQ(check.runs, 2);
}

TEST(scenarios, restarted_node_catches_up) {
  auto s = small("restart")
             .steps_with({{{"at", "1m"}, {"action", "stop"}, {"nodes", {"validator-0"}}},
                          {{"at", "2m"}, {"action", "start"}, {"nodes", {"validator-0"}}}})
             .expect_consensus_liveness(5, 2)
             .expect_convergence(60s)
             .build();
  auto r = run_built(s, "restart");
  EXPECT_EQ(r.exit_code, 0) << console_summary(r.report);
  // It was down for the minute in between: the height series shows it.
  const auto& h = r.report["series"]["heights"]["validator-0"];
  EXPECT_EQ(h[90].get<int64_t>(), -1);
  EXPECT_GE(h[h.size() - 1].get<int64_t>(), h[50].get<int64_t>());
}

TEST(scenarios, each_expectation_can_fail) {
  // Liveness: a height the network cannot reach in five minutes.
  auto live = run_built(small("live-fail").expect_consensus_liveness(10000, 3).build(), "lf");
  EXPECT_FALSE(expectation(live.report, "consensus_liveness")["pass"].get<bool>());
  EXPECT_EQ(live.exit_code, 1);
  // Convergence: a node stopped and never started again does not block convergence of the
  // up nodes, but an isolation that never heals does.
  auto conv =
    run_built(small("conv-fail")
                .steps_with({{{"at", "1m"}, {"action", "isolate"}, {"nodes", {"validator-0"}}}})
                .expect_convergence(30s)
                .build(),
              "cf");
  EXPECT_FALSE(expectation(conv.report, "convergence")["pass"].get<bool>());
  // Inclusion: everything, including what was submitted in the last seconds.
  auto incl =
    run_built(small("incl-fail").transactions_with(5).expect_tx_inclusion(1.0).build(), "if");
  const auto& e = expectation(incl.report, "tx_inclusion");
  EXPECT_FALSE(e["pass"].get<bool>());
  EXPECT_LT(e["evidence"]["included"].get<uint64_t>(), e["evidence"]["submitted"].get<uint64_t>());
  EXPECT_GT(e["evidence"]["missing_examples"].size(), 0u);
}

TEST(scenarios, inclusion_passes_and_reports_latency_percentiles) {
  auto r = run_built(small("incl-pass")
                       .transactions_with(5)
                       .expect("tx_inclusion", {{"min_ratio", 0.95}, {"exclude_last", "1m30s"}})
                       .build(),
                     "ip");
  const auto& e = expectation(r.report, "tx_inclusion");
  EXPECT_TRUE(e["pass"].get<bool>()) << e.dump();
  const auto& lat = e["evidence"]["latency_s"];
  EXPECT_GT(lat["p50"].get<double>(), 0.0);
  EXPECT_LE(lat["p50"].get<double>(), lat["p90"].get<double>());
  EXPECT_LE(lat["p90"].get<double>(), lat["p99"].get<double>());
}

// -- link transport ---------------------------------------------------------------

namespace {

/// chain-partition.json with 2% loss on every link and `transport` set (or left to the model).
run_result lossy_partition(const std::string& out, const char* transport) {
  register_catalog();
  auto j = troupe::read_json_file(std::filesystem::path(troupe::test::source_dir()) /
                                    "scenarios/chain-partition.json",
                                  "scenario file");
  j["topology"]["link"]["loss"] = 0.02;
  if (transport)
    j["topology"]["link"]["transport"] = transport;
  return run_built(scenario_from_json(j), out);
}

} // namespace

TEST(scenarios, chain_links_are_streams_by_default_so_loss_delays_but_loses_nothing) {
  auto r = lossy_partition("transport-model", nullptr);
  EXPECT_EQ(r.exit_code, 0) << console_summary(r.report);
  const auto& c = r.report["counters"];
  EXPECT_EQ(c["net.dropped_loss"], 0) << c.dump();
  EXPECT_GT(c["net.retransmits"].get<uint64_t>(), 100u) << c.dump(); // ~2% of the messages
  // The partition broke connections, each end was told, and the heal's reconnect handshake
  // brought every node onto one chain within the convergence window.
  EXPECT_GT(c["net.stream_breaks"].get<uint64_t>(), 0u);
  EXPECT_GT(c["connections_broken"].get<uint64_t>(), 0u);
  EXPECT_TRUE(expectation(r.report, "convergence")["pass"].get<bool>());
}

TEST(scenarios, a_datagram_link_loses_what_a_stream_link_resends) {
  auto r = lossy_partition("transport-datagram", "datagram");
  const auto& c = r.report["counters"];
  EXPECT_GT(c["net.dropped_loss"].get<uint64_t>(), 100u) << c.dump();
  EXPECT_FALSE(c.contains("net.retransmits"));
  EXPECT_FALSE(c.contains("connections_broken"));
  // Same scenario and seed, another transport: another run; "stream" spelled out is what the
  // chain model chose by itself.
  const auto stream = lossy_partition("transport-stream", "stream").report["digest"];
  EXPECT_NE(r.report["digest"], stream);
  EXPECT_EQ(stream, lossy_partition("transport-model-again", "model").report["digest"]);
}
