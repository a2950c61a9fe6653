// Every example in scenarios/ is run by the test suite, and gives the verdict it promises.
// A new example must be added to this table (the last test fails otherwise), so the docs
// never rot.

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "actors/runner.hpp"
#include "report/report.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "tests/support/paths.hpp"

using namespace troupe;

namespace {

// File -> expected exit code; live examples are run by tests/backends (local_e2e.*).
const std::map<std::string, int> simulated_examples = {
  {"chain-sim.json", 0},           {"chain-partition.json", 0}, {"chain-split-brain.json", 1},
  {"chain-chaos.json", 0},         {"chain-faults-report.json", 0},
  {"replay-campaign.json", 0},     {"proving-pipeline.json", 0},
};
const std::map<std::string, std::string> live_examples = {
  {"litecoin-local.json", "local_e2e.litecoin_local_scenario_passes"},
  {"etcd-local.json", "local_e2e.etcd_local_scenario_passes"},
  {"pipeline-commands-local.json", "jobs_live.pipeline_commands_local_example_passes"},
};

} // namespace

TEST(examples, every_simulated_example_gives_its_verdict) {
  register_catalog();
  for (const auto& [file, code] : simulated_examples) {
    run_request req;
    req.scenario_path = "scenarios/" + file;
    req.out = std::filesystem::path(troupe::test::build_dir()) / "test-runs" / ("example-" + file);
    req.quiet = true;
    auto r = run_scenario(load_scenario(troupe::test::source_dir() + "/scenarios/" + file), req);
    EXPECT_EQ(r.exit_code, code) << file << "\n" << console_summary(r.report);
  }
}

TEST(examples, every_example_file_is_in_a_table) {
  for (const auto& e : std::filesystem::directory_iterator(troupe::test::source_dir() + "/scenarios")) {
    if (e.path().extension() != ".json")
      continue;
    const auto name = e.path().filename().string();
    EXPECT_TRUE(simulated_examples.count(name) || live_examples.count(name))
      << name << " is not run by any test: add it to tests/scenarios/examples_test.cpp";
  }
}
