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

TEST(log_scan, a_line_split_between_pieces_is_one_line) {
  std::vector<std::pair<uint64_t, std::string>> lines;
  log_line_splitter split{
    [&](const std::string& line, uint64_t number) { lines.emplace_back(number, line); }};
  split.feed("par", 3);
  EXPECT_TRUE(lines.empty());
  EXPECT_EQ(split.pending(), 3u);
  split.feed("tial\nnext\nlast", 14);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], (std::pair<uint64_t, std::string>{1, "partial"}));
  EXPECT_EQ(lines[1].second, "next");
  split.finish(); // the last line has no newline
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], (std::pair<uint64_t, std::string>{3, "last"}));
  EXPECT_EQ(split.bytes(), 17u);
}

TEST(log_scan, examples_are_bounded_in_count_and_bytes) {
  std::string why;
  log_matches m{compile_log_pattern("match", true, why)};
  for (uint64_t i = 1; i <= 100; ++i)
    m.line("match " + std::string(1000, 'y'), i);
  m.line("nothing here", 101);
  EXPECT_EQ(m.count(), 100u);
  ASSERT_EQ(m.examples().size(), log_examples_max);
  EXPECT_EQ(m.examples()[4].line_number, 5u);
  for (const auto& e : m.examples())
    EXPECT_EQ(e.text.size(), log_example_bytes_max);
}

TEST(log_scan, a_nodes_log_is_read_with_the_files_rotated_from_it) {
  const auto dir = troupe::test::fresh_dir("log-scan-rotated");
  const auto log = dir / "node.log";
  // As the supervisor leaves them: .2 oldest, then .1, then the current file; a line was
  // cut in two by a rotation.
  std::ofstream{log.string() + ".2", std::ios::binary} << "error one\nok\n";
  std::ofstream{log.string() + ".1", std::ios::binary} << "ok\nerror t";
  std::ofstream{log, std::ios::binary} << "wo\nerror three\n";
  EXPECT_EQ(node_log_files(log),
            (std::vector<std::filesystem::path>{log.string() + ".2", log.string() + ".1", log}));
  std::string why;
  const auto s = scan_node_logs(log, compile_log_pattern("^error", true, why));
  EXPECT_TRUE(s.exists);
  EXPECT_EQ(s.lines, 5u);
  EXPECT_EQ(s.matches, 3u);
  ASSERT_EQ(s.examples.size(), 3u);
  EXPECT_EQ(s.examples[1].text, "error two");
  EXPECT_EQ(s.examples[2].line_number, 5u);
}
