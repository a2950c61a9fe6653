#include "actors/params.hpp"

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

TEST(params, required_keys_and_non_objects) {
  std::vector<validation_error> errors;
  params_reader r{json::object(), "expectations[1]", errors};
  r.dur("within", {}, duration::zero(), true);
  params_reader q{json::array(), "topology.link", errors};
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
