// Every example in scenarios/ is run by the test suite, and gives the verdict it promises.
// A new example must be added to this table (the last test fails otherwise), so the docs
// never rot.
//
// The simulated examples are also pinned: their trace digests (golden values below) prove
// that a refactor did not change a run by accident. A deliberate change to the model (or to
// what the digest covers) updates these values in the same commit and says why in its
// message. (The two job campaigns' digests changed once, when the digest began to fold
// every job change: before, both were c5b6fcdcdc1d0694, the digest of an empty network.)

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "report/report.hpp"
#include "tests/support/paths.hpp"

using namespace troupe;

namespace {

struct pinned {
  int exit_code;
  std::string verdict;
  std::string digest; ///< report.json's trace digest for the scenario's own seed
};

// File -> what its run must give; live examples are run by tests/backends (local_e2e.*).
const std::map<std::string, pinned> simulated_examples = {
  {"chain-sim.json", {0, "pass", "1214ca77a9f9677d"}},
  {"chain-partition.json", {0, "pass", "2072cee1b85df83d"}},
  {"chain-split-brain.json", {1, "fail", "d695f0095a653997"}},
  {"chain-chaos.json", {0, "pass", "a24a52ea1034aaa7"}},
  {"chain-faults-report.json", {0, "pass", "3bb52d124b333f09"}},
  {"chain-swarm.json", {0, "pass", "07a29fea188d84d3"}},
  {"chain-byzantine.json", {0, "pass", "665f131955c672d4"}},
  {"chain-byzantine-hub.json", {1, "fail", "5f37395ebbde7de4"}},
  {"replay-campaign.json", {0, "pass", "57176d4b2035feaf"}},
  {"proving-pipeline.json", {0, "pass", "952b9e2a40786f82"}},
  {"chain-sync.json", {0, "pass", "6ee816f5b7c40723"}},
};
const std::map<std::string, std::string> live_examples = {
  {"litecoin-local.json", "local_e2e.litecoin_local_scenario_passes"},
  {"litecoin-faults-local.json", "local_e2e.litecoin_faults_local_scenario_passes"},
  {"etcd-local.json", "local_e2e.etcd_local_scenario_passes"},
  {"etcd-faults-local.json", "local_e2e.etcd_faults_local_scenario_passes"},
  {"pipeline-commands-local.json", "jobs_live.pipeline_commands_local_example_passes"},
  {"attach-etcd.json", "attach.attach_etcd_example_passes_through_the_registry"},
  {"litecoin-ssh.json", "ssh_run.litecoin_with_partitions_across_four_hosts_passes"},
  // Needs a cluster (TROUPE_KUBECONFIG): skipped without one; its objects are golden-tested.
  {"litecoin-k8s.json", "k8s_run.litecoin_example_passes_on_a_cluster_and_leaves_no_namespace"},
  {"litecoin-compose.json", "compose_run.litecoin_with_partitions_and_a_restart_passes"},
  {"etcd-sync-compose.json",
   "compose_run.commands_in_the_containers_meet_at_a_barrier_through_their_agents_tunnels"},
  // Needs a Swarm: its test makes a one-node Swarm on its own daemon and leaves it after.
  {"etcd-swarm.json", "swarm_run.etcd_example_passes_through_the_gateway_and_leaves_nothing"},
};

} // namespace

TEST(examples, every_simulated_example_gives_its_pinned_verdict_and_digest) {
  register_catalog();
  for (const auto& [file, want] : simulated_examples) {
    run_request req;
    req.scenario_path = "scenarios/" + file;
    req.out = std::filesystem::path(troupe::test::build_dir()) / "test-runs" / ("example-" + file);
    req.quiet = true;
    auto r = run_scenario(load_scenario(troupe::test::source_dir() + "/scenarios/" + file), req);
    EXPECT_EQ(r.exit_code, want.exit_code) << file << "\n" << console_summary(r.report);
    EXPECT_EQ(r.report.value("verdict", ""), want.verdict) << file;
    EXPECT_EQ(r.report.value("digest", ""), want.digest)
      << file << ": the trace digest changed. If the model changed on purpose, pin the new "
      << "value here and say why in the commit message.";
  }
}

TEST(examples, every_example_file_is_in_a_table) {
  for (const auto& e :
       std::filesystem::directory_iterator(troupe::test::source_dir() + "/scenarios")) {
    if (e.path().extension() != ".json")
      continue;
    const auto name = e.path().filename().string();
    EXPECT_TRUE(simulated_examples.count(name) || live_examples.count(name))
      << name << " is not run by any test: add it to tests/scenarios/examples_test.cpp";
  }
}
