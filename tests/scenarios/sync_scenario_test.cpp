// The sync service in sim: steps that wait on it run when its state is reached, on virtual
// time, and the run (digest included) is a pure function of scenario and seed.

#include <filesystem>

#include <gtest/gtest.h>

#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "tests/support/paths.hpp"

using namespace troupe;

namespace {

run_result run_sync_example(const std::string& name, const std::function<void(scenario&)>& edit) {
  register_catalog();
  auto s = load_scenario(troupe::test::source_dir() + "/scenarios/chain-sync.json");
  edit(s);
  run_request req;
  req.out = std::filesystem::path(troupe::test::build_dir()) / "test-runs" / name;
  req.quiet = true;
  return run_scenario(s, req);
}

/// When each fault of `action` started, in run seconds.
std::vector<double> fault_times(const nlohmann::json& report, const std::string& action) {
  std::vector<double> out;
  for (const auto& f : report["faults"])
    if (f.value("action", "") == action)
      out.push_back(f.value("start_s", -1.0));
  return out;
}

} // namespace

TEST(sync_sim, a_step_waits_for_the_signal_count_and_the_run_is_deterministic) {
  auto a = run_sync_example("sync-a", [](scenario&) {});
  auto b = run_sync_example("sync-b", [](scenario&) {});
  ASSERT_EQ(a.exit_code, 0) << a.report.dump(2).substr(0, 2000);
  EXPECT_EQ(a.report["digest"], b.report["digest"]);
  // The eighth entry arrives at 40s (the observers' signal): the partition starts then.
  auto parts = fault_times(a.report, "partition");
  ASSERT_EQ(parts.size(), 1u) << a.report["faults"].dump();
  EXPECT_DOUBLE_EQ(parts[0], 40.0);
}

TEST(sync_sim, a_later_signal_moves_the_fault_and_changes_the_digest) {
  auto a = run_sync_example("sync-c", [](scenario&) {});
  auto late = run_sync_example("sync-late", [](scenario& s) {
    // The observers' entry at 50s instead of 40s.
    for (auto& w : s.workloads)
      if (w.kind == "steps")
        w.params["steps"][1]["at"] = "50s";
  });
  auto parts = fault_times(late.report, "partition");
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_DOUBLE_EQ(parts[0], 50.0);
  EXPECT_NE(a.report["digest"], late.report["digest"]);
}

TEST(sync_sim, a_count_never_reached_leaves_its_step_undone) {
  auto r = run_sync_example("sync-never", [](scenario& s) {
    for (auto& w : s.workloads)
      if (w.kind == "steps")
        w.params["steps"][2]["when"]["count"] = 9;
  });
  EXPECT_TRUE(fault_times(r.report, "partition").empty());
}
