// Reading JSON from outside with limits (jobs/bounded_json.hpp): the depth scan agrees with
// the parser, deep values are refused before any is built, and quoted values stay short.

#include "actors/errors.hpp"
#include "jobs/bounded_json.hpp"
#include "jobs/engine.hpp"
#include "jobs/replay/replay.hpp"

#include <gtest/gtest.h>

#include "tests/support/paths.hpp"
#include <fstream>

using namespace troupe::jobs;

TEST(JobsBoundedJson, NestingIsCountedOutsideStringsOnly) {
  EXPECT_EQ(json_nesting_over("[[[1]]]", 3), std::string_view::npos);
  EXPECT_EQ(json_nesting_over("[[[1]]]", 2), 2u);
  EXPECT_EQ(json_nesting_over(R"({"a": {"b": [ ]}})", 3), std::string_view::npos);
  EXPECT_EQ(json_nesting_over(R"({"a": {"b": [{}]}})", 3), 13u);
  // Brackets inside strings, escaped quotes included, do not count.
  EXPECT_EQ(json_nesting_over(R"(["[[[[\"[[[[", "{{{{"])", 1), std::string_view::npos);
  // Siblings do not add up; closing brackets without openers do not go negative.
  EXPECT_EQ(json_nesting_over("[[1],[2],[3]]", 2), std::string_view::npos);
  EXPECT_EQ(json_nesting_over("]]]][[", 2), std::string_view::npos);
  EXPECT_EQ(json_nesting_over("]]]][[[", 2), 6u);
}

TEST(JobsBoundedJson, DeepValuesAreRefusedAndTheRestParsesAsBefore) {
  std::string why;
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  EXPECT_FALSE(parse_json_bounded(deep, why));
  EXPECT_EQ(why, "nests arrays and objects deeper than 64 levels (at byte 64)");
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  ASSERT_TRUE(parse_json_bounded(ok, why));
  EXPECT_EQ(*parse_json_bounded(R"({"a": [1, 2.5, "x"]})", why),
            nlohmann::json::parse(R"({"a": [1, 2.5, "x"]})"));
  // Syntax errors and numbers out of range are one short line, the token cut.
  EXPECT_FALSE(parse_json_bounded("{\"a\": \"" + std::string(1 << 20, 'x'), why));
  EXPECT_LT(why.size(), 300u);
  EXPECT_NE(why.find("is not valid JSON"), std::string::npos) << why;
  EXPECT_FALSE(parse_json_bounded("[1e400]", why));
  EXPECT_NE(why.find("is not valid JSON"), std::string::npos) << why;
}

TEST(JobsBoundedJson, ExcerptsAreShortSingleLinesCutAtCharacters) {
  EXPECT_EQ(excerpt("short"), "short");
  EXPECT_EQ(excerpt("two\nlines\r"), "two lines ");
  EXPECT_EQ(excerpt(std::string(100, 'a'), 8), "aaaaaaaa… (100 bytes)");
  // Never half of a UTF-8 character: "é" is two bytes.
  EXPECT_EQ(excerpt("abcdé", 5), "abcd… (6 bytes)");
  EXPECT_EQ(excerpt_json(nlohmann::json(std::string(1 << 20, 'S'))).size(), 64u + 2 + 19);
  nlohmann::json deep = 1;
  for (int i = 0; i < 1000; ++i)
    deep = nlohmann::json::array({deep});
  EXPECT_EQ(excerpt_json(deep), "[…]"); // never dumped: dump() recurses
  EXPECT_EQ(one_line("a\nb", 10), "a b");
  EXPECT_EQ(one_line(std::string(600, 'm')).size(), 512u + std::string("…").size());
}

TEST(JobsBoundedJson, JobFilesAreReadWithTheLimits) {
  const auto dir = troupe::test::fresh_dir("bounded-json-files");
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  };
  const auto deep = write("deep.json", R"({"name": "p", "stages": )" + std::string(100'000, '[') +
                                         std::string(100'000, ']') + "}");
  try {
    load_pipeline_file(deep);
    FAIL() << "a pipeline nested 100,000 deep was read";
  } catch (const troupe::user_error& e) {
    // One line: the file, the JSON path (cut), the limit and the fix.
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos);
    EXPECT_EQ(what.rfind(deep, 0), 0u) << what;
    EXPECT_NE(what.find("nests arrays and objects more than 64 levels deep"), std::string::npos)
      << what;
    EXPECT_LT(what.size(), 400u);
  }
  const auto overflow = write("overflow.json", R"([{"start_block_id": 1e400}])");
  try {
    load_replay_config(overflow);
    FAIL() << "1e400 was read";
  } catch (const troupe::user_error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos);
    EXPECT_NE(what.find("[0].start_block_id: the number 1e400 is out of range"), std::string::npos)
      << what;
  }
  EXPECT_THROW(load_pipeline_file((dir / "missing.json").string()), troupe::user_error);
}
