#include "actors/params.hpp"

#include <type_traits>

#include <gtest/gtest.h>

using namespace troupe;
using nlohmann::json;

TEST(params, every_problem_is_reported_with_its_path) {
  std::vector<validation_error> errors;
  json j = {{"rate", "fast"}, {"users", -3}, {"ratee", 1}, {"loss", 2}};
  params_reader r{j, "workloads[0]", errors};
  EXPECT_DOUBLE_EQ(r.rate("rate", 10.0), 10.0); // falls back to the default
  EXPECT_EQ(r.integer("users", 100, 1, 1000), 100);
  r.probability("loss", 0);
  r.finish();
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0].to_string(),
            "workloads[0].rate: must be a rate like 10/s, 600/m or 2/h, got \"fast\"");
  EXPECT_EQ(errors[1].to_string(), "workloads[0].users: must be an integer in 1..1000, got -3");
  EXPECT_EQ(errors[2].to_string(), "workloads[0].loss: must be a probability in 0..1, got 2");
  EXPECT_EQ(errors[3].to_string(), "workloads[0].ratee: unknown key; did you mean \"rate\"? "
                                   "allowed here: loss, rate, users");
}

// The reader keeps a reference to its object: a temporary would be gone by the first getter
// (ASan: stack-use-after-scope), so binding one does not compile.
static_assert(
  !std::is_constructible_v<params_reader, json, std::string, std::vector<validation_error>&>);
static_assert(
  std::is_constructible_v<params_reader, const json&, std::string, std::vector<validation_error>&>);

TEST(params, required_keys_and_non_objects) {
  std::vector<validation_error> errors;
  const json empty = json::object(), list = json::array();
  params_reader r{empty, "expectations[1]", errors};
  r.dur("within", {}, duration::zero(), true);
  params_reader q{list, "topology.link", errors};
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].to_string(),
            "expectations[1].within: is required: a duration like 250ms, 2s, 10m or 1h");
  EXPECT_EQ(errors[1].to_string(), "topology.link: must be an object, got []");
}

TEST(params, shared_objects_count_keys_known_to_any_reader) {
  std::vector<validation_error> errors;
  json j = {{"slot", "1s"}, {"rpc_threads", 4}, {"bogus", true}};
  params_reader model{j, "node.params", errors};
  model.dur("slot", {});
  params_reader program{j, "node.params", errors};
  program.integer("rpc_threads", 1, 1, 64);
  model.finish_with({&program});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "node.params.bogus");
}

TEST(params, echoed_values_are_short_and_on_one_line) {
  std::vector<validation_error> errors;
  const json j = {{"rate", std::string(200, 'x') + "\nsecond line"},
                  {"users", json::array({1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                         16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29})},
                  {"line\nbreak", 1},
                  {"name", "tab\there"}};
  params_reader r{j, "workloads[0]", errors};
  r.rate("rate", 1);
  r.integer("users", 1, 1, 10);
  r.integer("name", 1, 1, 10);
  r.finish();
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0].to_string(), "workloads[0].rate: must be a rate like 10/s, 600/m or 2/h, "
                                   "got \"" +
                                     std::string(60, 'x') + "\"…");
  EXPECT_EQ(errors[1].to_string(), "workloads[0].users: must be an integer in 1..10, got "
                                   "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23…");
  EXPECT_EQ(errors[2].to_string(), "workloads[0].name: must be an integer in 1..10, got "
                                   "\"tab\\there\"");
  EXPECT_EQ(errors[3].path, "workloads[0][\"line\\nbreak\"]");
  for (const auto& e : errors)
    EXPECT_EQ(e.to_string().find('\n'), std::string::npos) << e.to_string();
}

TEST(params, selectors_take_one_or_a_list) {
  std::vector<validation_error> errors;
  const json j = {{"a", "all"}, {"b", {"v", "w-1"}}, {"c", 5}};
  params_reader r{j, "steps[0]", errors};
  EXPECT_EQ(r.selectors("a"), std::vector<std::string>{"all"});
  EXPECT_EQ(r.selectors("b"), (std::vector<std::string>{"v", "w-1"}));
  EXPECT_TRUE(r.selectors("c").empty());
  EXPECT_TRUE(r.selectors("d").empty());
  r.finish();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].to_string(),
            "steps[0].c: must be \"all\", a group name, a node id or a list of them, got 5");
}

// Describe mode: the same reading code yields the JSON Schema of what it accepts.
TEST(params, describe_mode_records_every_key_the_reader_reads) {
  auto s = params_reader::describe([](params_reader& r) {
    r.rate("rate", 10.0, true);
    r.integer("users", 100, 1, 1000);
    r.dur("within", duration::zero(), std::chrono::milliseconds(1));
    r.one_of("store", {"file", "memory"}, "file");
    r.selectors("nodes");
    r.finish();
  });
  EXPECT_EQ(s["type"], "object");
  EXPECT_EQ(s["additionalProperties"], false);
  EXPECT_EQ(s["required"], json::array({"rate"}));
  const auto& p = s["properties"];
  EXPECT_EQ(p["rate"]["pattern"], rate_pattern);
  EXPECT_EQ(p["users"],
            json({{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}, {"default", 100}}));
  EXPECT_EQ(p["within"]["pattern"], duration_pattern);
  EXPECT_EQ(p["within"]["default"], "0s");
  // An enum that selects nothing else stays an enum, not branches.
  EXPECT_EQ(p["store"]["enum"], json::array({"file", "memory"}));
  EXPECT_FALSE(s.contains("allOf"));
  EXPECT_EQ(p["nodes"]["anyOf"].size(), 2u);
}

TEST(params, describe_mode_describes_sections_lists_and_the_keys_a_choice_selects) {
  auto read = [](params_reader& r) {
    r.section("link", [](params_reader& q) {
      q.probability("loss", 0);
      q.finish();
    });
    r.items("steps", "a list of steps", [](params_reader& q) {
      auto action = q.one_of("action", {"stop", "partition"}, "", true);
      if (action == "partition")
        q.strings("sides");
      q.finish();
    });
    r.finish();
  };
  auto s = params_reader::describe(read);
  EXPECT_EQ(s["properties"]["link"]["properties"]["loss"]["maximum"], 1);
  EXPECT_EQ(s["properties"]["link"]["additionalProperties"], false);
  const auto& step = s["properties"]["steps"]["items"];
  EXPECT_EQ(step["required"], json::array({"action"}));
  ASSERT_EQ(step["allOf"].size(), 2u); // one branch per action (required: no "absent" branch)
  EXPECT_EQ(step["allOf"][1]["if"]["properties"]["action"], json({{"const", "partition"}}));
  EXPECT_TRUE(step["allOf"][1]["then"]["properties"].contains("sides"));
  EXPECT_FALSE(step["allOf"][0]["then"]["properties"].contains("sides"));

  // Reading (not describing) the same code is unchanged.
  std::vector<validation_error> errors;
  const json j = {{"steps", {{{"action", "stop"}, {"sides", {"a"}}}}}, {"link", 5}};
  params_reader r{j, "w", errors};
  read(r);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].to_string(), "w.link: must be an object, got 5");
  EXPECT_EQ(errors[1].path, "w.steps[0].sides");
}

TEST(params, given_is_true_only_for_present_keys_when_reading) {
  std::vector<validation_error> errors;
  const json j = {{"a", 1}};
  params_reader r{j, "", errors};
  EXPECT_TRUE(r.given("a"));
  EXPECT_FALSE(r.given("b"));
  EXPECT_FALSE(r.describing());
  params_reader::describe([](params_reader& d) {
    EXPECT_TRUE(d.describing());
    EXPECT_TRUE(d.given("b"));
  });
}
