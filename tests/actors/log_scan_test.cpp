// Users' log patterns with RE2: bounded patterns, clear syntax errors, and time linear in the
// log whatever the pattern (a backtracking engine never finishes `(a+)+$` on a long line, or
// overflows its stack).

#include "actors/log_scan.hpp"

#include <filesystem>
#include <fstream>

#include "tests/support/paths.hpp"
#include <gtest/gtest.h>
#include <re2/re2.h>

using namespace troupe;

namespace {

std::filesystem::path write_log(const std::string& name, const std::string& text) {
  const auto path = troupe::test::fresh_dir("log-scan-" + name) / "node.log";
  std::ofstream{path, std::ios::binary} << text;
  return path;
}

} // namespace

TEST(log_scan, patterns_are_bounded_and_checked) {
  std::string why;
  EXPECT_FALSE(compile_log_pattern(std::string(100'000, 'a'), true, why));
  EXPECT_EQ(why, "is 100000 characters long, more than the 1000-character limit for a pattern; "
                 "match a shorter distinctive part of the line");
  EXPECT_FALSE(compile_log_pattern("panic(", true, why));
  EXPECT_EQ(why, "is not a valid regular expression (RE2 syntax: no backreferences or "
                 "lookaround): missing ): panic(; fix the pattern");
  EXPECT_FALSE(compile_log_pattern("(a)\\1", true, why)); // a backreference
  EXPECT_TRUE(compile_log_pattern(std::string(log_pattern_chars_max, 'a'), true, why));
}

TEST(log_scan, catastrophic_backtracking_patterns_finish) {
  std::string why;
  auto re = compile_log_pattern("(a+)+$", true, why);
  ASSERT_TRUE(re) << why;
  // One 1,000,001-byte line that almost matches, and two short ones that do.
  const auto path = write_log("redos", std::string(1'000'000, 'a') + "b\naaa\nxyz\nAA");
  const auto s = scan_log_file(path, *re);
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.lines, 4u);
  EXPECT_EQ(s.matches, 2u); // "aaa" and (case-insensitive) "AA"
  ASSERT_EQ(s.examples.size(), 2u);
  EXPECT_EQ(s.examples[0].line_number, 2u);
  EXPECT_EQ(s.examples[1].text, "AA");
  EXPECT_EQ(s.lines_cut, 0u);
  EXPECT_FALSE(s.truncated);
}

TEST(log_scan, lines_and_files_are_bounded) {
  std::string why;
  auto re = compile_log_pattern("^x+$", false, why);
  ASSERT_TRUE(re) << why;
  // A line past log_line_bytes_max is matched on its start only.
  auto s =
    scan_log_file(write_log("long", std::string(log_line_bytes_max + 10, 'x') + "\nx\n"), *re);
  EXPECT_EQ(s.lines, 2u);
  EXPECT_EQ(s.lines_cut, 1u);
  EXPECT_EQ(s.matches, 2u);
  EXPECT_EQ(s.examples[0].text.size(), 300u);
  // A file past bytes_max is read no further.
  s = scan_log_file(write_log("big", "x\nx\nx\nx\n"), *re, 5);
  EXPECT_TRUE(s.truncated);
  EXPECT_EQ(s.lines, 2u);
  // No file: nothing read, and it says so.
  s = scan_log_file("/nonexistent/node.log", *re);
  EXPECT_FALSE(s.exists);
}
