// The traps a user hit in the scenario format, each closed by one sentence: a group whose
// name is not a role must say its role when the role decides whether its nodes produce
// blocks; every group's leadership is stated with its reason; workload and expectation names
// (which reach file names such as jobs-<name>.db) are checked.

#include <gtest/gtest.h>

#include "actors/echo.hpp"
#include "actors/scenario/builder.hpp"
#include "actors/scenario/leadership.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "tests/support/paths.hpp"

using namespace troupe;
using nlohmann::json;

namespace {

class leadership_test : public ::testing::Test {
protected:
  void SetUp() override { register_catalog(); }
};

/// A sim scenario with one group {"name": NAME, "count": 100, "node": NODE} (+ `extra` keys).
json with_group(const std::string& name, json node, json extra = json::object()) {
  json g{{"name", name}, {"count", 100}, {"node", std::move(node)}};
  g.update(extra);
  return json{{"name", "t"},
              {"duration", "1m"},
              {"topology", {{"groups", json::array({g})}}},
              {"expectations", json::array({{{"kind", "safety"}}})}};
}

std::vector<std::string> errors_of(const json& j) {
  std::vector<validation_error> errors;
  read_scenario(j, registry::global(), errors);
  std::vector<std::string> out;
  for (const auto& e : errors)
    out.push_back(e.to_string());
  return out;
}

std::vector<std::string> lines_of(const json& j, const std::string& backend = "sim") {
  std::vector<std::string> out;
  for (const auto& g : describe_leadership(scenario_from_json(j), backend, registry::global()))
    out.push_back(to_string(g));
  return out;
}

} // namespace

TEST_F(leadership_test, a_group_whose_name_is_not_a_role_must_say_its_role_when_it_would_lead) {
  // The trap: "watch" took its name as role, and every role but "observer" leads.
  const auto errors = errors_of(with_group("watch", {{"model", "chain"}}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "topology.groups[0].role: is required for group \"watch\": model chain produces blocks "
            "and decides by role, so without one the group's name would decide whether its 100 "
            "nodes lead; add \"role\": \"validator\" (produces blocks) or \"role\": \"observer\" "
            "(follows)");
  // The same for a program that produces blocks by role (litecoin-regtest's "blocks").
  const auto live = errors_of(with_group("obs", {{"program", "litecoin-regtest"}}));
  ASSERT_EQ(live.size(), 1u);
  EXPECT_NE(live[0].find("topology.groups[0].role: is required for group \"obs\": program "
                         "litecoin-regtest produces blocks"),
            std::string::npos)
    << live[0];
}

TEST_F(leadership_test, a_role_name_a_leader_param_or_a_program_without_blocks_needs_no_role) {
  EXPECT_TRUE(errors_of(with_group("validator", {{"model", "chain"}})).empty());
  EXPECT_TRUE(errors_of(with_group("observer", {{"model", "chain"}})).empty());
  EXPECT_TRUE(errors_of(with_group("watch", {{"model", "chain"}}, {{"role", "observer"}})).empty());
  EXPECT_TRUE(
    errors_of(with_group("watch", {{"model", "chain"}, {"params", {{"leader", false}}}})).empty());
  // etcd makes no blocks: its role decides nothing (the example's group "member" has none).
  EXPECT_NO_THROW(load_scenario(test::source_dir() + "/scenarios/etcd-local.json"));
}

TEST_F(leadership_test, the_builder_is_held_to_the_same_rule) {
  EXPECT_THROW(ScenarioBuilder::topology_with([](auto& t) { t.group("watch", 3); }).build(),
               validation_failed);
  auto s = ScenarioBuilder::topology_with([](auto& t) {
             t.group("watch", 3, "observer").group("validator", 2);
           }).build();
  EXPECT_TRUE(s.topology.groups[0].role_given);
  EXPECT_FALSE(s.topology.groups[1].role_given);
}

TEST_F(leadership_test, every_group_says_whether_it_leads_and_why) {
  auto j = with_group("validator", {{"model", "chain"}, {"program", "litecoin-regtest"}});
  auto& groups = j["topology"]["groups"];
  groups.push_back(
    {{"name", "watch"}, {"role", "observer"}, {"count", 1}, {"node", {{"model", "chain"}}}});
  groups.push_back(
    {{"name", "east"}, {"role", "miner"}, {"count", 4}, {"node", {{"model", "chain"}}}});
  groups.push_back({{"name", "orchestrator"},
                    {"count", 1},
                    {"node", {{"model", "chain"}, {"params", {{"leader", false}}}}}});
  EXPECT_EQ(lines_of(j),
            (std::vector<std::string>{
              "group validator: 100 nodes lead (produce blocks): role \"validator\" "
              "defaults to the group name, and model chain leads on every role but "
              "\"observer\"",
              "group watch: 1 node follows (produces no blocks): role \"observer\" is "
              "given, and model chain leads on every role but \"observer\"",
              "group east: 4 nodes lead (produce blocks): role \"miner\" is given, and "
              "model chain leads on every role but \"observer\"",
              "group orchestrator: 1 node follows (produces no blocks): params.leader "
              "is false"}));
  // Live, the program decides.
  EXPECT_EQ(lines_of(j, "local")[0],
            "group validator: 100 nodes lead (produce blocks): role \"validator\" defaults to the "
            "group name, and program litecoin-regtest leads on every role but \"observer\"");
  const auto etcd = load_scenario(test::source_dir() + "/scenarios/etcd-local.json");
  EXPECT_EQ(to_string(describe_leadership(etcd, "local", registry::global())[0]),
            "group member: 3 nodes; program etcd has no \"blocks\" section, so troupe chooses "
            "none of its block producers");
}

TEST_F(leadership_test, workload_and_expectation_names_are_safe_file_names) {
  for (const std::string& bad :
       std::vector<std::string>{"../x", ".hidden", "a b", "a/b", "", std::string(65, 'n')}) {
    auto j = with_group("validator", {{"model", "chain"}});
    j["workloads"] = json::array({{{"kind", "transactions"}, {"rate", "1/s"}, {"name", bad}}});
    j["expectations"] = json::array({{{"kind", "safety"}, {"name", bad}}});
    const auto errors = errors_of(j);
    // Echoed as every message echoes a value: quoted, and cut after 60 characters.
    const std::string tail = "must be 1-64 letters, digits, '.', '_' or '-' (starting with a "
                             "letter or digit), got " +
                             echo(bad);
    ASSERT_EQ(errors.size(), 2u) << bad;
    EXPECT_EQ(errors[0], "workloads[0].name: " + tail);
    EXPECT_EQ(errors[1], "expectations[0].name: " + tail);
  }
  auto ok = with_group("validator", {{"model", "chain"}});
  ok["workloads"] =
    json::array({{{"kind", "transactions"}, {"rate", "1/s"}, {"name", "tx_1.a-b"}}});
  EXPECT_TRUE(errors_of(ok).empty());
}
