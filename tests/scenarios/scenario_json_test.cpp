#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "actors/scenario/builder.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "actors/scenario/topology.hpp"
#include "apps/catalog/catalog.hpp"
#include "tests/scenarios/bad_scenarios.hpp"
#include "tests/support/paths.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

class scenario_json : public ::testing::Test {
protected:
  void SetUp() override { register_catalog(); }
};

json base() { return test::bad_scenario_base(); }

std::vector<validation_error> errors_of(const json& j) {
  std::vector<validation_error> errors;
  read_scenario(j, registry::global(), errors);
  return errors;
}

} // namespace

TEST_F(scenario_json, builder_to_json_to_scenario_is_an_identity) {
  auto built = ScenarioBuilder::topology_with([](auto& t) {
                 t.layout_random(8)
                   .link(50ms, 10ms, 0.01, 100'000'000)
                   .group("validator", 20)
                   .param("active_slot_coeff", 0.02)
                   .group("observer", 10)
                   .group_link({200ms, 20ms, 0.0, 10'000'000});
               })
                 .named("built")
                 .with_seed(99)
                 .transactions_with(10.0)
                 .chaos_with({{"restarts", {{"targets", "validator"}, {"downtime", "5s"}}}})
                 .expect_consensus_liveness(10, 3)
                 .expect_convergence(30s)
                 .expect_safety()
                 .expect_tx_inclusion(0.9)
                 .with_run_duration(10min)
                 .build();
  const json j = to_json(built);
  const scenario back = scenario_from_json(j);
  EXPECT_EQ(back, built);
  EXPECT_EQ(to_json(back), j);
  EXPECT_EQ(back.topology.groups[1].link->latency, 200ms);
  EXPECT_EQ(back.workloads[0].params["rate"], "10/s");
  // And through text, as a file would carry it.
  EXPECT_EQ(scenario_from_json(json::parse(j.dump(2))), built);
}

TEST_F(scenario_json, every_example_round_trips) {
  for (const auto& e :
       std::filesystem::directory_iterator(troupe::test::source_dir() + "/scenarios")) {
    if (e.path().extension() != ".json")
      continue;
    auto s = load_scenario(e.path());
    EXPECT_EQ(scenario_from_json(to_json(s)), s) << e.path();
  }
}

// Editors find a file's JSON Schema (`troupe schema scenario`) through its "$schema" key.
TEST_F(scenario_json, a_scenario_may_name_its_json_schema) {
  json j = base();
  j["$schema"] = "./scenario.schema.json";
  EXPECT_EQ(scenario_from_json(j), scenario_from_json(base()));
}

TEST_F(scenario_json, defaults_fill_what_is_omitted) {
  auto s = scenario_from_json(base());
  EXPECT_EQ(s.backend.name, "sim");
  EXPECT_EQ(s.topology.groups[0].role, "validator");
  EXPECT_EQ(s.workloads[0].name, "transactions");
  EXPECT_EQ(s.topology.link.jitter, duration::zero());
}

// Live backends shape their relays only by a profile the scenario wrote: whether it was
// written survives a round trip (a default profile stays unwritten).
TEST_F(scenario_json, a_link_profile_says_whether_the_scenario_wrote_it) {
  json j = base();
  auto written = scenario_from_json(j);
  EXPECT_TRUE(written.topology.link.given);
  j["topology"].erase("link");
  j["topology"]["groups"][0]["link"] = {{"jitter", "5ms"}};
  auto defaults = scenario_from_json(j);
  EXPECT_FALSE(defaults.topology.link.given);
  EXPECT_EQ(defaults.topology.link.latency, 50ms) << "the simulator still has its default";
  ASSERT_TRUE(defaults.topology.groups[0].link);
  EXPECT_TRUE(defaults.topology.groups[0].link->given);
  auto again = to_json(defaults);
  EXPECT_FALSE(again["topology"].contains("link")) << again["topology"].dump();
  EXPECT_EQ(scenario_from_json(again), defaults);
  auto t = expand(defaults);
  ASSERT_GE(t.nodes.size(), 2u);
  auto l = t.given_link_between(0, 1);
  ASSERT_TRUE(l.has_value()) << "the group wrote its link";
  EXPECT_EQ(l->jitter, 5ms);
}

TEST_F(scenario_json, bad_scenarios_name_the_path_what_was_found_and_what_is_allowed) {
  // The catalog is filled before the table is built: some messages list the known kinds.
  const auto cases = test::bad_scenario_cases();
  ASSERT_GE(cases.size(), 20u);
  for (const auto& c : cases) {
    json j = test::bad_scenario_base();
    c.mutate(j);
    std::vector<std::string> got;
    for (const auto& e : errors_of(j))
      got.push_back(e.to_string());
    EXPECT_EQ(got, c.expected) << c.name;
  }
}

TEST_F(scenario_json, all_problems_are_reported_at_once) {
  json j = base();
  j["topology"]["groups"][0]["count"] = -2;
  j["duration"] = "soon";
  j["workloads"][0]["target"] = "miner";
  auto errors = errors_of(j);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_THROW(scenario_from_json(j), validation_failed);
}

TEST_F(scenario_json, unreadable_files_are_one_clear_error) {
  try {
    load_scenario("/nonexistent/x.json");
    FAIL();
  } catch (const user_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot read scenario file /nonexistent/x.json: no such file or not readable; "
              "check the path");
  }
  auto path = std::filesystem::temp_directory_path() / "troupe-syntax.json";
  std::ofstream(path) << "{\"name\": \"x\",\n \"seed\": }";
  try {
    load_scenario(path);
    FAIL();
  } catch (const user_error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON: parse error at line 2, column 10"),
              std::string::npos)
      << e.what();
  }
}

TEST_F(scenario_json, every_node_list_takes_all_a_group_or_a_node_id) {
  json j = base();
  j["workloads"].push_back(
    {{"kind", "steps"},
     {"steps",
      {{{"at", "10s"}, {"action", "set_link"}, {"from", "all"}, {"to", "validator"}},
       {{"at", "10s"}, {"action", "set_link"}, {"from", {"validator-0"}}, {"to", "validator-1"}},
       {{"at", "20s"}, {"action", "stop"}, {"nodes", "validator-2"}},
       {{"at", "30s"}, {"action", "partition"}, {"sides", {{"validator-0"}, "validator"}}},
       {{"at", "40s"}, {"action", "heal"}}}}});
  const auto errors = errors_of(j);
  for (const auto& e : errors)
    ADD_FAILURE() << e.to_string();
}

TEST_F(scenario_json, counting_a_huge_topology_builds_nothing) {
  // 10^8 nodes used to be expanded to be counted (std::bad_alloc, exit 3); now it is one sum.
  json j = base();
  j["topology"]["groups"][0]["count"] = 100'000'000;
  const auto errors = errors_of(j);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "topology.groups");
  // At the limit it is accepted, and still counted in no time.
  j["topology"]["groups"][0]["count"] = 100'000;
  j["topology"]["layout"] = {{"kind", "random"}, {"degree", 8}};
  EXPECT_TRUE(errors_of(j).empty());
}

TEST_F(scenario_json, files_that_would_crash_the_parser_are_one_line_errors) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto message_of = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    try {
      load_scenario(dir / name);
    } catch (const validation_failed& e) {
      ADD_FAILURE() << "parsed: " << e.what();
    } catch (const user_error& e) {
      EXPECT_EQ(e.code(), exit_bad_input);
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  // 100,000 levels: troupe validate used to overflow the stack (SIGSEGV).
  auto deep = message_of("troupe-deep.json", "{\"name\": " + std::string(100'000, '[') +
                                               std::string(100'000, ']') + "}");
  EXPECT_EQ(deep.rfind((dir / "troupe-deep.json").string() + ": name[0][0][0]", 0), 0u) << deep;
  EXPECT_NE(deep.find("more than 64 levels deep"), std::string::npos) << deep;
  // 1e400: nlohmann's out_of_range.406 used to surface as "internal error" (exit 3).
  auto big = message_of("troupe-1e400.json", R"({"name": "x", "duration": "1m",
    "topology": {"link": {"loss": 1e400}, "groups": []}})");
  EXPECT_EQ(big, (dir / "troupe-1e400.json").string() +
                   ": topology.link.loss: the number 1e400 is out of range (a number must be "
                   "within about ±1.8e308, what a double holds); write a smaller number");
}
