// The generated Compose file (a pure function of the plan): what the backend promises of every
// run's stack, checked without a daemon; and what validation refuses on compose.

#include <gtest/gtest.h>

#include "backends/compose/compose_file.hpp"
#include "backends/compose/swarm_file.hpp"
#include "tests/support/shell.hpp"

namespace {

using namespace troupe::backends::compose;

stack_plan two_nodes() {
  stack_plan p;
  p.run_id = "troupe-0123456789";
  p.token_file = "/runs/x/compose/token";
  p.services = {{"miner-0", "troupe/litecoin-regtest:latest", 21000, {21001, 21002}},
                {"observer-0", "troupe/litecoin-regtest:latest", 21003, {21004, 21005}}};
  return p;
}

TEST(compose_file, one_service_per_node_running_its_agent) {
  auto f = compose_file(two_nodes());
  ASSERT_EQ(f["services"].size(), 2u);
  const auto& s = f["services"]["miner-0"];
  EXPECT_EQ(s["image"], "troupe/litecoin-regtest:latest");
  EXPECT_EQ(s["container_name"], "troupe-0123456789-miner-0");
  EXPECT_EQ(s["entrypoint"], nlohmann::json::array({"/troupe/bin/troupe"}));
  EXPECT_EQ(s["command"], nlohmann::json::array({"agent", "--listen", "0.0.0.0:21000",
                                                 "--token-file", "/troupe/token"}));
  EXPECT_EQ(s["volumes"], nlohmann::json::array({"/runs/x/compose/token:/troupe/token:ro",
                                                 "node-miner-0:/troupe/run"}));
}

TEST(compose_file, ports_only_on_loopback_at_the_same_numbers) {
  auto f = compose_file(two_nodes());
  for (const auto& [name, s] : f["services"].items()) {
    ASSERT_FALSE(s["ports"].empty()) << name;
    for (const auto& p : s["ports"]) {
      const auto text = p.get<std::string>();
      ASSERT_EQ(text.rfind("127.0.0.1:", 0), 0u) << text;
      const auto rest = text.substr(10);
      EXPECT_EQ(rest.substr(0, rest.find(':')), rest.substr(rest.find(':') + 1)) << text;
    }
  }
  EXPECT_EQ(f["services"]["observer-0"]["ports"],
            nlohmann::json::array(
              {"127.0.0.1:21003:21003", "127.0.0.1:21004:21004", "127.0.0.1:21005:21005"}));
}

TEST(compose_file, the_run_network_and_every_volume_carry_the_label) {
  auto f = compose_file(two_nodes());
  const nlohmann::json label{{"troupe.run", "troupe-0123456789"}};
  EXPECT_EQ(f["networks"]["run"]["name"], "troupe-0123456789");
  EXPECT_EQ(f["networks"]["run"]["labels"], label);
  ASSERT_EQ(f["volumes"].size(), 2u);
  EXPECT_EQ(f["volumes"]["node-miner-0"]["name"], "troupe-0123456789-miner-0");
  for (const auto& [name, v] : f["volumes"].items())
    EXPECT_EQ(v["labels"], label) << name;
  for (const auto& [name, s] : f["services"].items()) {
    EXPECT_EQ(s["labels"]["troupe.run"], "troupe-0123456789") << name;
    EXPECT_EQ(s["labels"]["troupe.node"], name);
    EXPECT_EQ(s["networks"], nlohmann::json::array({"run"})) << name;
  }
}

// Swarm mode: the same services for `docker stack deploy`, nothing published by Swarm (the
// gateway publishes on 127.0.0.1), restarts left to the agent, an attachable overlay, the
// token as a secret, the label on services, containers, network, volumes and secret.
TEST(swarm_file, the_same_services_with_nothing_published_and_no_restart_by_swarm) {
  auto f = swarm_file(two_nodes());
  ASSERT_EQ(f["services"].size(), 2u);
  for (const auto& [name, s] : f["services"].items()) {
    EXPECT_FALSE(s.contains("ports")) << name;
    EXPECT_FALSE(s.contains("container_name")) << name;
    EXPECT_EQ(s["hostname"], name);
    EXPECT_EQ(s["deploy"]["restart_policy"]["condition"], "none") << name;
    EXPECT_EQ(s["deploy"]["replicas"], 1) << name;
    EXPECT_EQ(s["deploy"]["labels"]["troupe.run"], "troupe-0123456789") << name;
    EXPECT_EQ(s["labels"]["troupe.run"], "troupe-0123456789") << name;
    EXPECT_EQ(s["labels"]["troupe.node"], name);
    EXPECT_EQ(s["networks"], nlohmann::json::array({"run"})) << name;
    EXPECT_EQ(s["volumes"], nlohmann::json::array({"node-" + name + ":/troupe/run"})) << name;
  }
  const auto& m = f["services"]["miner-0"];
  EXPECT_EQ(m["image"], "troupe/litecoin-regtest:latest");
  EXPECT_EQ(m["entrypoint"], nlohmann::json::array({"/troupe/bin/troupe"}));
  EXPECT_EQ(m["command"], nlohmann::json::array({"agent", "--listen", "0.0.0.0:21000",
                                                 "--token-file", "/run/secrets/troupe-token"}));
  EXPECT_EQ(m["secrets"],
            nlohmann::json::parse(R"([{"source": "token", "target": "troupe-token"}])"));
}

TEST(swarm_file, an_attachable_overlay_and_the_token_as_a_secret_all_labelled) {
  auto f = swarm_file(two_nodes());
  const nlohmann::json label{{"troupe.run", "troupe-0123456789"}};
  const auto& net = f["networks"]["run"];
  EXPECT_EQ(net["name"], "troupe-0123456789");
  EXPECT_EQ(net["driver"], "overlay");
  EXPECT_EQ(net["attachable"], true);
  EXPECT_EQ(net["labels"], label);
  ASSERT_EQ(f["volumes"].size(), 2u);
  EXPECT_EQ(f["volumes"]["node-observer-0"]["name"], "troupe-0123456789-observer-0");
  for (const auto& [name, v] : f["volumes"].items())
    EXPECT_EQ(v["labels"], label) << name;
  const auto& secret = f["secrets"]["token"];
  EXPECT_EQ(secret["name"], "troupe-0123456789-token");
  EXPECT_EQ(secret["file"], "/runs/x/compose/token");
  EXPECT_EQ(secret["labels"], label);
}

TEST(compose_validate, swarm_mode_is_accepted_and_can_do_a_restart) {
  auto o =
    troupe::test::troupe_cli("validate scenarios/etcd-swarm.json --backend compose --strict");
  EXPECT_EQ(o.code, 0) << o.out;
  EXPECT_NE(o.out.find("backend compose can do every control and fault it asks for"),
            std::string::npos)
    << o.out;
}

TEST(compose_validate, etcd_network_faults_are_refused_with_the_reason) {
  auto o = troupe::test::troupe_cli(
    "validate scenarios/etcd-faults-local.json --backend compose --strict");
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("backend compose cannot do it"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("no NET_ADMIN"), std::string::npos) << o.out;
  auto ok =
    troupe::test::troupe_cli("validate scenarios/litecoin-compose.json --backend compose --strict");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("backend compose can do every control and fault it asks for"),
            std::string::npos)
    << ok.out;
}

} // namespace
