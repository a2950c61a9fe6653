// Byzantine validators (the `byzantine` workload and the chain model's behaviours), end to
// end in the simulator: each behaviour is detected or survived as the issue asks, safety
// judges honest nodes and names the Byzantine producers behind a conflict, runs are
// deterministic, and a live backend refuses the workload with the reason.

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "report/report.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/report_lookup.hpp"

using namespace troupe;
using nlohmann::json;

namespace {

std::filesystem::path out_dir(const std::string& name) {
  auto dir = std::filesystem::path(troupe::test::build_dir()) / "test-runs" / name;
  std::filesystem::remove_all(dir);
  return dir;
}

scenario example(const std::string& file) {
  register_catalog();
  return load_scenario(troupe::test::source_dir() + "/scenarios/" + file);
}

run_result run(const scenario& s, const std::string& out) {
  run_request req;
  req.out = out_dir(out);
  req.quiet = true;
  return run_scenario(s, req);
}

const json& expectation(const json& report, const std::string& kind) {
  return troupe::test::verdict_of(report, kind, "kind");
}

json evidence(const json& e) {
  return e["evidence"].is_string() ? json::parse(e["evidence"].get<std::string>()) : e["evidence"];
}

uint64_t counter(const json& report, const char* name) {
  return report["counters"].value(name, uint64_t{0});
}

/// The chain-byzantine example with one Byzantine workload (index into its list) only.
scenario only(size_t workload) {
  auto s = example("chain-byzantine.json");
  auto w = s.workloads;
  s.workloads = {w[0], w[workload]};
  return s;
}

} // namespace

TEST(byzantine, an_honest_majority_survives_every_behaviour_at_once) {
  auto r = run(example("chain-byzantine.json"), "byzantine-all");
  const auto& rep = r.report;
  ASSERT_EQ(r.exit_code, 0) << console_summary(rep);
  const json safety = evidence(expectation(rep, "safety"));
  EXPECT_EQ(safety["violations"], 0);
  EXPECT_GT(safety["finalizations_checked"].get<uint64_t>(), 100u);
  EXPECT_EQ(safety["byzantine_nodes"].size(), 6u);
  EXPECT_EQ(safety["byzantine_nodes"]["twin-0"], "twin of validator-0");
  EXPECT_GT(counter(rep, "equivocations"), 0u);
  EXPECT_GT(counter(rep, "blocks_withheld"), 0u);
  EXPECT_GT(counter(rep, "invalid_blocks_sent"), 0u);
  // Every kind of invalid block is rejected by honest nodes, and counted.
  EXPECT_GT(counter(rep, "invalid.bad_parent"), 0u);
  EXPECT_GT(counter(rep, "invalid.oversized"), 0u);
  EXPECT_GT(counter(rep, "invalid.bad_tx"), 0u);
  EXPECT_EQ(counter(rep, "invalid_blocks_rejected"), counter(rep, "invalid.bad_parent") +
                                                       counter(rep, "invalid.oversized") +
                                                       counter(rep, "invalid.bad_tx"));
}

TEST(byzantine, invalid_blocks_are_rejected_by_every_honest_neighbour_and_never_adopted) {
  for (size_t w : {3u, 4u, 5u}) { // bad_parent, oversized, bad_tx
    auto s = only(w);
    auto r = run(s, "byzantine-invalid-" + std::to_string(w));
    ASSERT_EQ(r.exit_code, 0) << console_summary(r.report);
    const uint64_t sent = counter(r.report, "invalid_blocks_sent");
    ASSERT_GT(sent, 0u);
    // Honest nodes never relay an invalid block, so only the forger's neighbours see one:
    // each rejects it once, and no block event ever names one (none is adopted).
    EXPECT_GE(counter(r.report, "invalid_blocks_rejected"), sent);
    EXPECT_LE(counter(r.report, "invalid_blocks_rejected"), sent * 22);
  }
}

TEST(byzantine, selfish_mining_withholds_blocks_and_releases_them_to_win_races) {
  auto r = run(only(2), "byzantine-withhold");
  ASSERT_EQ(r.exit_code, 0) << console_summary(r.report);
  EXPECT_GT(counter(r.report, "blocks_withheld"), 0u);
  EXPECT_GT(counter(r.report, "withheld_released"), 0u);
  EXPECT_GT(counter(r.report, "reorgs"), 0u); // the releases overturn honest blocks
}

TEST(byzantine, twins_lead_the_same_slots_and_honest_nodes_survive_them) {
  auto r = run(only(6), "byzantine-twin");
  ASSERT_EQ(r.exit_code, 0) << console_summary(r.report);
  const json safety = evidence(expectation(r.report, "safety"));
  EXPECT_EQ(safety["byzantine_nodes"]["twin-0"], "twin of validator-0");
  EXPECT_EQ(safety["violations"], 0);
}

TEST(byzantine, a_byzantine_hub_breaks_safety_and_is_named_behind_the_conflict) {
  auto r = run(example("chain-byzantine-hub.json"), "byzantine-hub");
  ASSERT_EQ(r.exit_code, 1) << console_summary(r.report);
  const auto& safety = expectation(r.report, "safety");
  EXPECT_EQ(safety["pass"], false);
  const json ev = evidence(safety);
  EXPECT_GT(ev["violations"].get<uint64_t>(), 0u);
  EXPECT_GT(ev["conflicts_by_byzantine_producer"]["hub-0"].get<uint64_t>(), 0u);
  const json& first = ev["conflicts"][0];
  // The first conflict is the hub's own equivocation: two blocks of one slot.
  EXPECT_EQ(first["first"]["producer"], "hub-0");
  EXPECT_EQ(first["conflicting"]["producer"], "hub-0");
  EXPECT_EQ(first["first"]["byzantine_producer"], "equivocate");
  EXPECT_NE(safety["summary"].get<std::string>().find("hub-0 (equivocate"), std::string::npos)
    << safety["summary"];
  EXPECT_GT(counter(r.report, "equivocations"), 0u);
}

TEST(byzantine, runs_are_deterministic) {
  auto a = run(only(1), "byzantine-det-a");
  auto b = run(only(1), "byzantine-det-b");
  EXPECT_EQ(a.report["digest"], b.report["digest"]);
  EXPECT_EQ(a.report["counters"], b.report["counters"]);
}

TEST(byzantine, the_node_protocol_refuses_what_a_model_cannot_do) {
  auto s = only(1);
  s.workloads[1].params["behaviour"] = "twin";
  s.workloads[1].params["twin_of"] = "equivocator-0"; // its own identity
  auto r = run(s, "byzantine-self-twin");
  bool refused = false;
  for (const auto& e : r.report["refusals"])
    if (e.value("action", "") == "byzantine")
      refused = e.value("reason", "").find("its own twin") != std::string::npos;
  EXPECT_TRUE(refused) << r.report["refusals"].dump();
}
