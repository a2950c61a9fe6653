// --check-determinism names the first diverging event when something in the simulated world
// breaks the rules. The culprit here is injected on purpose: a model that reads the wall clock.

#include <chrono>

#include <gtest/gtest.h>

#include "actors/scenario/builder.hpp"
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
  auto s = ScenarioBuilder::topology_with([](auto& t) {
             t.layout_ring().group("validator", 4).model("wallclock");
           })
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
