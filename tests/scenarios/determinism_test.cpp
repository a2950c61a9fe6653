// --check-determinism names the first diverging event when something in the simulated world
// breaks the rules. The culprit here is injected on purpose: a model that reads the wall clock.

#include <chrono>
#include <cstdio>

#include <gtest/gtest.h>

#include "actors/runner.hpp"
#include "actors/scenario/builder.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "backends/sim/determinism.hpp"
#include "backends/sim/sim_backend.hpp"
#include "tests/support/paths.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// Gossips a ping to its first peer on a timer whose delay comes from the wall clock: exactly
// the bug the check exists to catch.
class wall_clock_model final : public sim::node_model {
public:
  void on_start(sim::node_context& ctx) override { arm(ctx); }
  void on_message(sim::node_context&, sim::node_index, const sim::message&) override {}
  void on_timer(sim::node_context& ctx, uint64_t) override {
    if (!ctx.peers().empty()) {
      sim::message m;
      m.kind = 7;
      m.bytes = 100;
      m.payload_hash = 7;
      ctx.send(ctx.peers().front(), m);
    }
    arm(ctx);
  }
  node_status status() const override { return {}; }
  tx_ack submit(sim::node_context&, const transaction&) override { return {false, "no txs"}; }

private:
  static void arm(sim::node_context& ctx) {
    const auto wall = std::chrono::steady_clock::now().time_since_epoch().count();
    ctx.set_timer(std::chrono::milliseconds(100 + wall % 997), 0);
  }
};

} // namespace

TEST(determinism, a_model_reading_the_wall_clock_is_caught_and_named) {
  register_catalog();
  backends::add_sim_model(
    registry::global(), "wallclock", "test-only: reads the wall clock",
    [](const node_info&) -> sim::model_factory {
      return [] { return std::make_unique<wall_clock_model>(); };
    },
    [](params_reader&, const group&) {});
  auto s = ScenarioBuilder::topology_with(
             [](auto& t) { t.layout_ring().group("validator", 4).model("wallclock"); })
             .named("wallclock")
             .with_run_duration(30s)
             .build();
  run_request req;
  req.out = std::filesystem::path(troupe::test::build_dir()) / "test-runs" / "wallclock";
  auto check = backends::check_determinism(s, req);
  ASSERT_TRUE(check.divergence.diverged) << backends::describe(check);
  EXPECT_NE(check.divergence.first_event, check.divergence.second_event);
  // Both versions of the event are named, in words a person can follow.
  const auto text = backends::describe(check);
  EXPECT_NE(text.find("NOT deterministic: the runs diverge at trace event #"), std::string::npos);
  EXPECT_NE(text.find("run 1: "), std::string::npos);
  EXPECT_NE(text.find("validator-"), std::string::npos) << text;
  EXPECT_NE(check.divergence.first_digest, check.divergence.second_digest);
}

// The CLI's check: each run a `troupe run` process of its own, its trace handed back as JSON.
TEST(determinism, two_processes_give_one_digest_and_the_report_of_the_first) {
  register_catalog();
  const auto file = troupe::test::source_dir() + "/scenarios/chain-byzantine-hub.json";
  auto s = load_scenario(file);
  run_request req;
  req.out = troupe::test::fresh_dir("determinism-processes");
  req.quiet = true;
  backends::determinism_processes procs;
  procs.troupe_binary = troupe::test::troupe_binary();
  procs.run_args = {file, "--duration", "1m"};
  auto check = backends::check_determinism(s, req, registry::global(), &procs);
  EXPECT_FALSE(check.divergence.diverged) << backends::describe(check);
  EXPECT_EQ(check.runs, 2);
  EXPECT_TRUE(check.processes);
  EXPECT_NE(backends::describe(check).find("each a process of its own"), std::string::npos);
  // The report is the first child's; its digest is the one the traces agree on, and the one
  // this process computes for the same run.
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(check.divergence.first_digest));
  EXPECT_EQ(check.first_run.report.value("digest", ""), hex);
  run_request here;
  here.out = troupe::test::fresh_dir("determinism-in-process");
  here.quiet = true;
  here.run_duration = 1min;
  EXPECT_EQ(run_scenario(s, here).report.value("digest", ""), hex);
}

TEST(determinism, a_trace_survives_its_json_round_trip) {
  sim::world_trace t;
  t.digest = 0xFEDCBA9876543210ULL;
  t.events = 3;
  t.checkpoint_every = 2;
  t.checkpoints = {42};
  t.window_from = 1;
  sim::trace_event e;
  e.index = 1;
  e.at = 5ms;
  e.type = sim::trace_kind::byzantine;
  e.from = 3;
  e.to = sim::no_node;
  e.kind = 9;
  e.payload_hash = ~0ULL;
  e.digest = 77;
  t.window = {e};
  t.window_text = {"{\"x\":1}"};
  auto back = backends::trace_from_json(backends::trace_to_json(t));
  EXPECT_EQ(back.digest, t.digest);
  EXPECT_EQ(back.checkpoints, t.checkpoints);
  ASSERT_EQ(back.window.size(), 1u);
  EXPECT_TRUE(back.window[0].same_as(e));
  EXPECT_EQ(back.window[0].digest, 77u);
  EXPECT_EQ(back.window_text, t.window_text);
}
