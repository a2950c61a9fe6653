// The k8s backend's objects, without a cluster: the litecoin and etcd examples' objects
// against golden files, their structure (what the API server would refuse), and the
// parameters that shape them.

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/errors.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "backends/k8s/image.hpp"
#include "backends/k8s/manifest_check.hpp"
#include "backends/k8s/manifests.hpp"
#include "backends/k8s/names.hpp"
#include "tests/support/paths.hpp"

namespace {

namespace fs = std::filesystem;
namespace k8s = troupe::backends::k8s;
using nlohmann::json;

const k8s::run_identity fixed_id{"golden-run", "0123456789abcdef", 1764700000};

json read_json(const fs::path& p) {
  std::ifstream in{p};
  return json::parse(in, nullptr, false);
}

k8s::run_manifests render(const std::string& file, const k8s::run_identity& id = fixed_id) {
  troupe::register_catalog();
  auto path = fs::path(troupe::test::source_dir()) / file;
  auto s = troupe::load_scenario(path);
  return k8s::render_manifests(s, k8s::options_of(s), id, path.parent_path());
}

/// The objects against tests/backends/data/k8s/<name>.json (TROUPE_UPDATE_GOLDEN=1 rewrites it).
void expect_golden(const k8s::run_manifests& m, const std::string& name) {
  const auto golden =
    fs::path(troupe::test::source_dir()) / "tests/backends/data/k8s" / (name + ".json");
  const auto got = k8s::as_list(m);
  if (std::getenv("TROUPE_UPDATE_GOLDEN"))
    std::ofstream{golden} << got.dump(2) << "\n";
  EXPECT_EQ(got, read_json(golden))
    << "the k8s objects of " << name << " changed; if on purpose, rerun with "
    << "TROUPE_UPDATE_GOLDEN=1 and review the diff of " << golden;
}

const json* find(const k8s::run_manifests& m, const std::string& kind, const std::string& name) {
  for (const auto& o : m.objects)
    if (o["kind"] == kind && o["metadata"]["name"] == name)
      return &o;
  return nullptr;
}

} // namespace

TEST(k8s_manifests, litecoin_example_matches_its_golden_objects) {
  auto m = render("scenarios/litecoin-k8s.json");
  expect_golden(m, "litecoin-k8s");
  EXPECT_TRUE(k8s::check_manifests(m.objects).empty());
}

TEST(k8s_manifests, etcd_example_matches_its_golden_objects) {
  // etcd-local.json as `--backend k8s` would run it: the k8s backend's default params.
  auto m = render("scenarios/etcd-local.json");
  expect_golden(m, "etcd-local");
  EXPECT_TRUE(k8s::check_manifests(m.objects).empty());
}

TEST(k8s_manifests, a_run_is_a_namespace_a_token_and_per_group_three_objects_in_apply_order) {
  auto m = render("scenarios/litecoin-k8s.json");
  EXPECT_EQ(m.ns, "troupe-golden-run");
  std::vector<std::string> order;
  for (const auto& o : m.objects)
    order.push_back(o["kind"].get<std::string>() + "/" + o["metadata"]["name"].get<std::string>());
  EXPECT_EQ(order, (std::vector<std::string>{
                     "Namespace/troupe-golden-run", "Secret/troupe-agent-token",
                     "ConfigMap/troupe-miner", "Service/miner", "StatefulSet/miner",
                     "ConfigMap/troupe-observer", "Service/observer", "StatefulSet/observer"}));
  const auto& ns = m.objects[0]["metadata"];
  EXPECT_EQ(ns["labels"]["troupe.run"], "golden-run");
  // ttl 2h from the fixed "now" (2025-12-02T18:26:40Z).
  EXPECT_EQ(ns["annotations"]["troupe.dev/expires-at"], "2025-12-02T20:26:40Z");
  EXPECT_EQ(m.objects[1]["stringData"]["token"], "0123456789abcdef");
  const auto* sts = find(m, "StatefulSet", "miner");
  ASSERT_NE(sts, nullptr);
  EXPECT_EQ((*sts)["spec"]["replicas"], 3);
  EXPECT_EQ((*sts)["spec"]["podManagementPolicy"], "Parallel");
  const auto& c = (*sts)["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["command"], json::array({"/troupe/bin/troupe"}));
  EXPECT_EQ(c["args"], json::array({"agent", "--listen", "0.0.0.0:7070", "--token-file",
                                    "/troupe/token/token"}));
  EXPECT_EQ(c["image"], "troupe/litecoin-regtest:latest");
  EXPECT_EQ(c["resources"]["requests"], (json{{"cpu", "250m"}, {"memory", "256Mi"}}));
  EXPECT_EQ((*find(m, "Service", "miner"))["spec"]["clusterIP"], "None");
  // The ConfigMap carries the program as written and the group's node spec.
  const auto* cm = find(m, "ConfigMap", "troupe-miner");
  ASSERT_NE(cm, nullptr);
  EXPECT_EQ(json::parse((*cm)["data"]["program.json"].get<std::string>())["name"],
            "litecoin-regtest");
  auto node = json::parse((*cm)["data"]["node.json"].get<std::string>());
  EXPECT_EQ(node["count"], 3);
  EXPECT_EQ(node["params"]["active_slot_coeff"], 0.1);
  troupe::node_info n;
  n.id = "observer-1";
  n.group = "observer";
  n.group_index = 1;
  EXPECT_EQ(k8s::pod_of(m, n), "observer-1");
}

TEST(k8s_manifests, the_same_inputs_give_the_same_bytes_and_another_run_another_namespace) {
  EXPECT_EQ(k8s::as_list(render("scenarios/etcd-local.json")).dump(),
            k8s::as_list(render("scenarios/etcd-local.json")).dump());
  auto other = fixed_id;
  other.run_id = "another-run";
  EXPECT_EQ(render("scenarios/etcd-local.json", other).ns, "troupe-another-run");
}

TEST(k8s_manifests, images_come_from_the_group_then_the_program_then_the_default) {
  k8s::k8s_options o;
  troupe::backends::local::program p;
  p.name = "litecoin-regtest";
  EXPECT_EQ(k8s::image_for(o, "miner", p), "troupe/litecoin-regtest:latest");
  p.image = troupe::backends::local::program_image{"reg.local/own:0", "/opt/ltc/litecoind"};
  EXPECT_EQ(k8s::image_for(o, "miner", p), "reg.local/own:0") << "the program's own image";
  EXPECT_EQ(k8s::executable_in_image(p), "/opt/ltc/litecoind");
  o.image = "reg.local/all:1";
  EXPECT_EQ(k8s::image_for(o, "miner", p), "reg.local/all:1");
  o.images["litecoin-regtest"] = "reg.local/ltc:2";
  EXPECT_EQ(k8s::image_for(o, "miner", p), "reg.local/ltc:2");
  o.images["miner"] = "reg.local/miner:3";
  EXPECT_EQ(k8s::image_for(o, "miner", p), "reg.local/miner:3");
  EXPECT_EQ(k8s::image_for(o, "observer", p), "reg.local/ltc:2");
}

TEST(k8s_manifests, run_ids_are_dns_labels_short_enough_for_the_namespace) {
  EXPECT_EQ(k8s::run_id_for("litecoin-k8s-20261202-163000"), "litecoin-k8s-20261202-163000");
  EXPECT_EQ(k8s::run_id_for("My_Run.1"), "my-run-1");
  const auto long_id = k8s::run_id_for(std::string(80, 'a') + "-20261202");
  EXPECT_LE(long_id.size(), 56u);
  EXPECT_TRUE(k8s::is_dns_label(k8s::namespace_for(long_id))) << long_id;
  EXPECT_NE(long_id, k8s::run_id_for(std::string(80, 'a') + "-20261203"));
  EXPECT_EQ(k8s::dns_label("--Chain Swarm!--"), "chain-swarm");
}

TEST(k8s_manifests, the_structural_check_names_what_the_api_server_would_refuse) {
  auto m = render("scenarios/litecoin-k8s.json");
  auto broken = m.objects;
  broken[4]["spec"]["selector"]["matchLabels"]["troupe.group"] = "nobody";
  broken[4]["spec"]["serviceName"] = "missing";
  broken[4]["spec"]["template"]["spec"]["containers"][0].erase("image");
  broken[2]["metadata"]["name"] = "Not_A_Label";
  broken[1]["metadata"]["namespace"] = "elsewhere";
  broken[5]["data"]["node.json"] = std::string((1u << 20) + 1, 'x');
  std::string all;
  for (const auto& p : k8s::check_manifests(broken))
    all += p + "\n";
  for (const char* says :
       {"StatefulSet miner: selects troupe.group=\"nobody\", which its pod template lacks",
        "StatefulSet miner: names serviceName \"missing\", which is no headless Service before it",
        "StatefulSet miner container node: has no image",
        "ConfigMap Not_A_Label: metadata.name must be a DNS label",
        "StatefulSet miner: mounts ConfigMap troupe-miner, which comes after it or not at all",
        "Secret troupe-agent-token: must be in the run's namespace \"troupe-golden-run\"",
        "ConfigMap troupe-observer: data holds 10"})
    EXPECT_NE(all.find(says), std::string::npos) << says << "\n" << all;
  EXPECT_NE(all.find("bytes, over the API's 1 MiB per object"), std::string::npos) << all;
}

TEST(k8s_manifests, a_group_name_that_cannot_name_a_statefulset_is_one_sentence) {
  troupe::register_catalog();
  auto path = fs::path(troupe::test::source_dir()) / "scenarios/etcd-local.json";
  auto s = troupe::load_scenario(path);
  s.topology.groups[0].name = "Member_A";
  try {
    k8s::render_manifests(s, k8s::options_of(s), fixed_id, path.parent_path());
    FAIL() << "rendered a StatefulSet named Member_A";
  } catch (const troupe::user_error& e) {
    EXPECT_NE(std::string(e.what()).find("group \"Member_A\" cannot name a StatefulSet"),
              std::string::npos)
      << e.what();
    EXPECT_NE(std::string(e.what()).find("e.g. \"member-a\""), std::string::npos) << e.what();
  }
}
