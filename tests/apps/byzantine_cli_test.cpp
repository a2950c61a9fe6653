// The `byzantine` workload as a user meets it on the command line: the simulator can do it,
// the local backend says before any run that it cannot and why, and --check-determinism
// runs the example in two processes.

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"

using troupe::test::troupe_cli;

TEST(byzantine_cli, validate_with_the_local_backend_refuses_byzantine_nodes_with_the_reason) {
  const auto dir = troupe::test::fresh_dir("byzantine-cli");
  const auto file = (dir / "byzantine-litecoin.json").string();
  std::ofstream(file) << R"({
    "name": "byzantine-litecoin", "duration": "1m",
    "topology": {"layout": {"kind": "mesh"},
                 "groups": [{"name": "validator", "role": "validator", "count": 3,
                             "node": {"model": "chain", "program": "litecoin-regtest"}}]},
    "workloads": [{"kind": "byzantine", "nodes": "validator-0", "behaviour": "equivocate",
                   "at": "10s"}],
    "expectations": [{"kind": "safety"}]
  })";
  auto local = troupe_cli("validate " + file + " --backend local");
  EXPECT_EQ(local.code, 0) << local.out;
  EXPECT_NE(local.out.find("(byzantine, at 10s): backend local cannot do it: Byzantine "
                           "behaviours (equivocation, withholding, invalid blocks, twins) are "
                           "not supported by the local backend"),
            std::string::npos)
    << local.out;
  EXPECT_NE(local.out.find("--backend sim"), std::string::npos) << local.out;
  auto strict = troupe_cli("validate " + file + " --backend local --strict");
  EXPECT_EQ(strict.code, 2) << strict.out;
  auto sim = troupe_cli("validate " + file + " --backend sim --strict");
  EXPECT_EQ(sim.code, 0) << sim.out;
}

TEST(byzantine_cli, check_determinism_runs_each_run_in_a_process_of_its_own) {
  const auto out = troupe::test::fresh_dir("byzantine-cli-determinism") / "check";
  auto r = troupe_cli("run " + troupe::test::source_dir() +
                        "/scenarios/chain-byzantine.json --check-determinism "
                        "--quiet --out " +
                        out.string(),
                      240);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("deterministic: 2 runs, each a process of its own, gave the same trace "
                       "digest"),
            std::string::npos)
    << r.out;
  EXPECT_TRUE(std::filesystem::exists(out / "run-1" / "report.json"));
  EXPECT_TRUE(std::filesystem::exists(out / "trace-2.json"));
}
