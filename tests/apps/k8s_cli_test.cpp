// `troupe k8s` and the k8s backend as a user meets them on a machine without a cluster: the
// rendered objects written in apply order, the client-side dry run (skipped: kubectl needs an
// API server for it), what `troupe validate --backend k8s` refuses, and a run or a gc without
// a reachable API server: one sentence, exit 2.

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using troupe::test::shell_quote;
using troupe::test::troupe_cli;

/// A kubeconfig naming an API server on a closed port of this machine.
fs::path unreachable_kubeconfig(const fs::path& dir) {
  const auto p = dir / "kubeconfig";
  std::ofstream{p} << "apiVersion: v1\nkind: Config\nclusters:\n- name: none\n  cluster:\n"
                      "    server: https://127.0.0.1:1\ncontexts:\n- name: none\n  context:\n"
                      "    cluster: none\n    user: none\ncurrent-context: none\nusers:\n"
                      "- name: none\n  user:\n    token: x\n";
  return p;
}

} // namespace

TEST(k8s_cli, render_writes_one_checked_file_per_object_in_apply_order) {
  const auto dir = troupe::test::fresh_dir("k8s-render");
  auto r = troupe_cli("k8s render scenarios/litecoin-k8s.json --run-id golden-run --token "
                      "0123456789abcdef --now 1764700000 -o " +
                      dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("8 objects in " + dir.string() +
                       " (namespace troupe-golden-run): kubectl "
                       "apply --server-side -f " +
                       dir.string()),
            std::string::npos)
    << r.out;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{
                     "00-namespace-troupe-golden-run.json", "01-secret-troupe-agent-token.json",
                     "02-configmap-troupe-miner.json", "03-service-miner.json",
                     "04-statefulset-miner.json", "05-configmap-troupe-observer.json",
                     "06-service-observer.json", "07-statefulset-observer.json"}));
  // The same objects as the golden List, one per file.
  std::ifstream g{fs::path(troupe::test::source_dir()) /
                  "tests/backends/data/k8s/litecoin-k8s.json"};
  const auto golden = json::parse(g, nullptr, false);
  ASSERT_TRUE(golden.is_object());
  for (size_t i = 0; i < files.size(); ++i) {
    std::ifstream in{dir / files[i]};
    EXPECT_EQ(json::parse(in, nullptr, false), golden["items"][i]) << files[i];
  }
}

TEST(k8s_cli, kubectl_client_dry_run_accepts_the_rendered_objects) {
  const auto dir = troupe::test::fresh_dir("k8s-dry-run");
  auto r = troupe_cli("k8s render scenarios/litecoin-k8s.json -o " + dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  if (troupe::test::shell("command -v kubectl >/dev/null 2>&1", 10).code != 0)
    GTEST_SKIP() << "kubectl is not installed: the objects are checked structurally only";
  auto dry =
    troupe::test::shell("kubectl apply --dry-run=client -f " + shell_quote(dir.string()), 60);
  if (dry.code != 0 && (dry.out.find("connection refused") != std::string::npos ||
                        dry.out.find("couldn't get current server API") != std::string::npos))
    GTEST_SKIP() << "kubectl has no API server to check the objects against (a client dry run "
                    "asks the server for its API): checked structurally and against the golden "
                    "file only";
  EXPECT_EQ(dry.code, 0) << dry.out;
  EXPECT_NE(dry.out.find("statefulset.apps/miner created (dry run)"), std::string::npos) << dry.out;
}

TEST(k8s_cli, render_without_o_prints_one_list) {
  auto r = troupe_cli("k8s render scenarios/etcd-local.json --token t --now 0");
  ASSERT_EQ(r.code, 0) << r.out;
  auto list = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(list.is_object()) << r.out;
  EXPECT_EQ(list["kind"], "List");
  EXPECT_EQ(list["items"].size(), 5u);
  EXPECT_EQ(list["items"][0]["metadata"]["name"], "troupe-etcd-local");
  EXPECT_EQ(list["items"][4]["spec"]["replicas"], 3);
}

TEST(k8s_cli, a_bad_k8s_param_is_one_sentence_with_its_path) {
  const auto dir = troupe::test::fresh_dir("k8s-bad-param");
  std::ifstream in{fs::path(troupe::test::source_dir()) / "scenarios/etcd-local.json"};
  auto s = json::parse(in);
  s["backend"] = {{"name", "k8s"}};
  s["backend"]["images"] = {{"member", 7}};
  s["backend"]["ttl"] = "5s";
  std::ofstream{dir / "bad.json"} << s.dump(2);
  auto r = troupe_cli("k8s render " + (dir / "bad.json").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("backend.images: the image of \"member\" must be a non-empty string, got 7"),
            std::string::npos)
    << r.out;
  EXPECT_NE(r.out.find("backend.ttl"), std::string::npos) << r.out;
}

TEST(k8s_cli, validate_lists_what_the_k8s_backend_refuses_and_why) {
  auto r = troupe_cli("validate scenarios/etcd-faults-local.json --backend k8s");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("backend k8s cannot do it: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the k8s backend's pods have no NET_ADMIN capability"), std::string::npos)
    << r.out;
  auto strict = troupe_cli("validate scenarios/etcd-faults-local.json --backend k8s --strict");
  EXPECT_EQ(strict.code, 2) << strict.out;
  // Relayed faults (litecoin's peer links) need no capability: of litecoin's faults only the
  // clock skew is refused (the image's libfaketime cannot be known from here).
  auto ltc = troupe_cli("validate scenarios/litecoin-faults-local.json --backend k8s");
  EXPECT_EQ(ltc.code, 0) << ltc.out;
  size_t refusals = 0;
  for (size_t at = 0; (at = ltc.out.find("backend k8s cannot do it", at)) != std::string::npos;
       ++at)
    ++refusals;
  EXPECT_EQ(refusals, 1u) << ltc.out;
  EXPECT_NE(ltc.out.find("(skew, at 1m10s): backend k8s cannot do it: the k8s backend cannot know "
                         "that a pod's image has libfaketime"),
            std::string::npos)
    << ltc.out;
}

TEST(k8s_cli, a_run_without_a_reachable_api_server_is_one_sentence_and_exit_2) {
  const auto dir = troupe::test::fresh_dir("k8s-no-server");
  const auto kc = unreachable_kubeconfig(dir);
  auto r = troupe::test::shell("TROUPE_KUBECONFIG=" + shell_quote(kc.string()) + " " +
                                 shell_quote(troupe::test::troupe_binary()) +
                                 " run scenarios/litecoin-k8s.json --out " +
                                 shell_quote((dir / "run").string()),
                               120, troupe::test::source_dir());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("troupe: the k8s backend cannot reach a Kubernetes API server (kubeconfig "
                       "$TROUPE_KUBECONFIG=" +
                       kc.string()),
            std::string::npos)
    << r.out;
  EXPECT_NE(r.out.find("set TROUPE_KUBECONFIG to the kubeconfig of a cluster"), std::string::npos)
    << r.out;
  auto gc = troupe::test::shell("TROUPE_KUBECONFIG=" + shell_quote(kc.string()) + " " +
                                  shell_quote(troupe::test::troupe_binary()) + " k8s gc --dry-run",
                                60);
  EXPECT_EQ(gc.code, 2) << gc.out;
  EXPECT_NE(gc.out.find("cannot reach a Kubernetes API server"), std::string::npos) << gc.out;
}
