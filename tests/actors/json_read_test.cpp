// Bounded JSON reading: no input crashes troupe. Nesting past json_depth_max, numbers past a
// double, files past json_bytes_max and syntax errors are each one user_error on one line,
// naming the source and the JSON path.

#include "actors/json_read.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "actors/errors.hpp"

using namespace troupe;
using nlohmann::json;

namespace {

/// The message of the user_error that parsing `text` throws ("" when it parses).
std::string error_of(const std::string& text, const std::string& where = "f.json") {
  try {
    parse_json_bounded(text, where);
  } catch (const user_error& e) {
    EXPECT_EQ(e.code(), exit_bad_input);
    return e.what();
  }
  return "";
}

bool one_line(const std::string& s) { return s.find('\n') == std::string::npos; }

} // namespace

TEST(json_read, deep_nesting_is_refused_while_parsing) {
  // 100,000 levels: nlohmann would parse it, then its destructor and dump() recurse and
  // overflow the stack (troupe validate: SIGSEGV).
  const auto e = error_of(std::string(100'000, '[') + std::string(100'000, ']'));
  EXPECT_EQ(e.rfind("f.json: [0][0][0]", 0), 0u) << e.substr(0, 200);
  EXPECT_NE(e.find(": nests arrays and objects more than 64 levels deep (the limit); flatten"),
            std::string::npos)
    << e.substr(0, 400);
  EXPECT_TRUE(one_line(e));
  EXPECT_LT(e.size(), 400u); // the path is shortened, not 100,000 segments
  std::string objects;
  for (int i = 0; i < 70; ++i)
    objects += "{\"a\": ";
  EXPECT_EQ(error_of(objects + "1" + std::string(70, '}')).rfind("f.json: a.a.a.a", 0), 0u);
}

TEST(json_read, the_depth_limit_is_exact) {
  const auto deep = [](size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_EQ(error_of(deep(json_depth_max)), "");
  EXPECT_NE(error_of(deep(json_depth_max + 1)), "");
  EXPECT_EQ(parse_json_bounded(R"({"a": [1, {"b": null}], "c": "x"})", "f"),
            json::parse(R"({"a": [1, {"b": null}], "c": "x"})"));
}

TEST(json_read, numbers_beyond_a_double_name_their_path) {
  // nlohmann throws out_of_range.406 for 1e400 (troupe: "internal error", exit 3).
  EXPECT_EQ(error_of(R"({"topology": {"link": {"loss": 1e400}}})"),
            "f.json: topology.link.loss: the number 1e400 is out of range (a number must be "
            "within about ±1.8e308, what a double holds); write a smaller number");
  EXPECT_EQ(error_of(R"({"groups": [{"count": 1}, {"count": -1e999}]})"),
            "f.json: groups[1].count: the number -1e999 is out of range (a number must be "
            "within about ±1.8e308, what a double holds); write a smaller number");
  // A long one is cut.
  const auto e = error_of("[1" + std::string(5000, '0') + "]");
  EXPECT_NE(e.find("f.json: [0]: the number 1000"), std::string::npos) << e;
  EXPECT_LT(e.size(), 300u);
}

TEST(json_read, syntax_errors_are_one_line_with_path_and_position) {
  EXPECT_EQ(error_of("{\"name\": \"x\",\n \"seed\": }"),
            "f.json: seed: not valid JSON: parse error at line 2, column 10: syntax error while "
            "parsing value - unexpected '}'; expected '[', '{', or a literal; fix the syntax "
            "there");
  // An unterminated 1 MB string with a newline in it: the token is cut, nothing raw leaks.
  const auto e = error_of("{\"a\": \"" + std::string(1'000'000, 'x') + "\n\"}");
  EXPECT_TRUE(one_line(e)) << e.substr(0, 300);
  EXPECT_LT(e.size(), 400u) << e.substr(0, 400);
  EXPECT_EQ(e.rfind("f.json: a: not valid JSON: parse error at line 2", 0), 0u) << e;
  EXPECT_EQ(e.find("json.exception"), std::string::npos) << e;
  // Keys that are not plain words are quoted in the path.
  EXPECT_EQ(error_of("{\"a b\\nc\": [tru]}").rfind("f.json: [\"a b\\nc\"][0]: not valid JSON", 0),
            0u);
  EXPECT_EQ(error_of("").rfind("f.json: not valid JSON: parse error at line 1, column 1", 0), 0u);
}

TEST(json_read, size_is_bounded) {
  EXPECT_EQ(error_of(std::string(json_bytes_max + 1, ' ')),
            "f.json: is 16777217 bytes, more than the 16777216-byte limit for one JSON document; "
            "make it smaller or split it");
  try {
    read_json_file("/dev/zero", "scenario file"); // endless: read up to the limit, no further
    FAIL() << "read /dev/zero";
  } catch (const user_error& e) {
    EXPECT_EQ(std::string(e.what()), "/dev/zero: is more than the 16777216-byte limit for one "
                                     "JSON file; make it smaller or split it");
  }
}

TEST(json_read, files) {
  try {
    read_json_file("/nonexistent/x.json", "scenario file");
    FAIL();
  } catch (const user_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read scenario file /nonexistent/x.json: no such "
                                     "file or not readable; check the path");
  }
  EXPECT_THROW(read_json_file(std::filesystem::temp_directory_path(), "scenario file"), user_error);
  const auto path = std::filesystem::temp_directory_path() / "troupe-json-read.json";
  std::ofstream(path) << R"({"ok": [1, 2.5, "x"]})";
  EXPECT_EQ(read_json_file(path, "scenario file"), json::parse(R"({"ok": [1, 2.5, "x"]})"));
}
