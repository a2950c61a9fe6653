#pragma once
// Matching a user's regular expression against node log files, in time linear in the bytes
// read whatever the pattern: RE2 (no backtracking), the pattern's length bounded, each file's
// bytes and each line's bytes bounded. `log_pattern` uses it on the run directory's files, and
// the agent (backends/agent/log_counter.hpp) on the logs beside the nodes, a few bytes at a
// time: both cut lines with one log_line_splitter and count with one log_matches, so a count
// is the same whoever made it. A pattern such as `(a+)+$` that makes a backtracking engine run
// for years (or overflow its stack) costs one pass here.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace re2 {
class RE2;
}

namespace troupe {

/// The longest pattern accepted: patterns are written by people; a longer one is a mistake
/// (or generated), and its compiled form would cost memory in proportion.
inline constexpr size_t log_pattern_chars_max = 1000;

/// A line longer than this is matched on its first log_line_bytes_max bytes only (the rest
/// is read and skipped), so that one runaway line cannot take the memory of the whole file.
inline constexpr size_t log_line_bytes_max = 1 << 20;

/// Bytes read from one node's log files; what follows is left unread (`truncated`).
inline constexpr uint64_t log_bytes_max = 256ull << 20;

/// Matching lines kept as examples (per node and pattern), and the bytes kept of each.
inline constexpr size_t log_examples_max = 5;
inline constexpr size_t log_example_bytes_max = 300;

/// A compiled pattern (RE2 syntax, https://github.com/google/re2/wiki/Syntax).
using log_regex = std::shared_ptr<const re2::RE2>;

/// Compiles `pattern`; on a problem returns null and sets `why` to one phrase that says what
/// is wrong and the fix (too long, or the syntax error RE2 names).
log_regex compile_log_pattern(const std::string& pattern, bool ignore_case, std::string& why);

struct log_line_match {
  uint64_t line_number = 0;
  std::string text; ///< the line, cut at log_example_bytes_max bytes
};

struct log_scan_result {
  bool exists = false;
  uint64_t bytes = 0;     ///< the bytes read (a file's size when read whole)
  uint64_t lines = 0;     ///< lines read
  uint64_t matches = 0;   ///< lines that match
  uint64_t lines_cut = 0; ///< lines longer than log_line_bytes_max (matched on their start)
  bool truncated = false; ///< stopped at bytes_max
  std::vector<log_line_match> examples; ///< the first few matching lines
};

/// Cuts a stream of bytes into lines, fed in pieces of any size: a line split between two
/// pieces (two reads, or a log file and the one rotated after it) is one line. Lines past
/// log_line_bytes_max are kept to their start.
class log_line_splitter {
public:
  using line_fn = std::function<void(const std::string& line, uint64_t number)>;

  explicit log_line_splitter(line_fn on_line);

  /// Every complete line in `data` (and the pending start of one) goes to `on_line`.
  void feed(const char* data, size_t n);
  /// The last line, when it has no newline (at the end of a file read whole).
  void finish();

  uint64_t lines() const noexcept { return lines_; }
  uint64_t lines_cut() const noexcept { return lines_cut_; }
  uint64_t bytes() const noexcept { return bytes_; }
  /// Bytes of a line not ended yet (waiting for its newline).
  size_t pending() const noexcept { return line_.size(); }

private:
  void end_line();

  line_fn on_line_;
  std::string line_;
  bool cut_ = false; ///< the current line outgrew log_line_bytes_max
  uint64_t lines_ = 0;
  uint64_t lines_cut_ = 0;
  uint64_t bytes_ = 0;
};

/// The lines that match one pattern: how many, and the first few (bounded in count and bytes).
class log_matches {
public:
  explicit log_matches(log_regex re, size_t examples_max = log_examples_max);

  /// Looks at one line; true when it matches.
  bool line(const std::string& text, uint64_t number);

  uint64_t count() const noexcept { return count_; }
  const std::vector<log_line_match>& examples() const noexcept { return examples_; }

private:
  log_regex re_;
  size_t examples_max_;
  uint64_t count_ = 0;
  std::vector<log_line_match> examples_;
};

/// The path of a node's log in a run directory (`<run_dir>/nodes/<id>.log`, written by live
/// backends; the simulator writes none).
std::filesystem::path node_log_path(const std::filesystem::path& run_dir, const std::string& id);

/// A node's log and the files rotated from it that still exist, oldest first
/// (`<log>.N`, …, `<log>.1`, `<log>`): what the supervisor keeps of everything it wrote.
std::vector<std::filesystem::path> node_log_files(const std::filesystem::path& log);

/// Reads `file` line by line within the bounds above, calling `on_line(line, number)` for
/// each; the result has everything but matches and examples.
log_scan_result read_log_lines(const std::filesystem::path& file, uint64_t bytes_max,
                               const std::function<void(const std::string&, uint64_t)>& on_line);

/// Reads `file` line by line and counts the lines `re` matches (anywhere in the line).
log_scan_result scan_log_file(const std::filesystem::path& file, const re2::RE2& re,
                              uint64_t bytes_max = log_bytes_max,
                              size_t examples_max = log_examples_max);

/// The same over a node's log and its rotated files (node_log_files), as one stream of lines
/// numbered from the oldest file's first: what the agent counts beside the node.
log_scan_result scan_node_logs(const std::filesystem::path& log, const log_regex& re,
                               uint64_t bytes_max = log_bytes_max,
                               size_t examples_max = log_examples_max);

// -- counting where the node runs (the node protocol's log_count_atom) ------------------

/// What a `log_pattern` expectation asks a node: count the lines of your log that match.
struct log_count_request {
  std::string pattern;
  bool ignore_case = true;
};

/// A node's answer: the count made where it runs (its agent), or why there is none (then the
/// expectation reads `<run_dir>/nodes/<id>.log` itself).
struct log_count_report {
  bool counted = false;
  std::string counted_by; ///< "agent" when counted
  std::string why;        ///< when not counted: one phrase
  log_scan_result scan;   ///< when counted
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_line_match& x) {
  return f(caf::meta::type_name("log_line_match"), x.line_number, x.text);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_scan_result& x) {
  return f(caf::meta::type_name("log_scan_result"), x.exists, x.bytes, x.lines, x.matches,
           x.lines_cut, x.truncated, x.examples);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_count_request& x) {
  return f(caf::meta::type_name("log_count_request"), x.pattern, x.ignore_case);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_count_report& x) {
  return f(caf::meta::type_name("log_count_report"), x.counted, x.counted_by, x.why, x.scan);
}

} // namespace troupe
