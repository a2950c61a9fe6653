// The litecoin example on a real Kubernetes cluster: `troupe run scenarios/litecoin-k8s.json`
// end to end (apply, pods Ready, agents, the run's verdict, the namespace deleted). Needs
// TROUPE_KUBECONFIG naming a cluster whose nodes have the image `troupe image build
// litecoin-regtest` makes and whose pod addresses this machine reaches; reported as skipped
// otherwise, never as passed.

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"

namespace {

using nlohmann::json;
using troupe::test::shell_quote;

} // namespace

TEST(k8s_run, litecoin_example_passes_on_a_cluster_and_leaves_no_namespace) {
  const char* kubeconfig = std::getenv("TROUPE_KUBECONFIG");
  if (!kubeconfig || !*kubeconfig)
    GTEST_SKIP() << "TROUPE_KUBECONFIG names no cluster (none is reachable from this machine): "
                    "the k8s objects are checked by the golden and structural tests only";
  const auto dir = troupe::test::fresh_dir("k8s-litecoin");
  auto r = troupe::test::troupe_cli(
    "run scenarios/litecoin-k8s.json --out " + shell_quote((dir / "run").string()), 290);
  EXPECT_EQ(r.code, 0) << r.out;
  std::ifstream in{dir / "run" / "report.json"};
  const auto report = json::parse(in, nullptr, false);
  ASSERT_TRUE(report.is_object()) << r.out;
  EXPECT_EQ(report["verdict"], "pass") << r.out;
  const auto ns = report["backend"]["k8s"]["namespace"].get<std::string>();
  EXPECT_EQ(report["backend"]["k8s"]["namespace_deleted"], true);
  // Deleted (or being deleted: the API server finishes it on its own).
  auto left = troupe::test::shell("kubectl --kubeconfig=" + shell_quote(kubeconfig) +
                                    " get namespace " + ns + " -o jsonpath={.status.phase}",
                                  60);
  EXPECT_TRUE(left.code != 0 || left.out == "Terminating") << left.out;
}
