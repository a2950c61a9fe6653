#pragma once
// Matching a user's regular expression against node log files, in time linear in the bytes
// read whatever the pattern: RE2 (no backtracking), the pattern's length bounded, each file's
// bytes and each line's bytes bounded. `log_pattern` uses it; a pattern such as `(a+)+$` that
// makes a backtracking engine run for years (or overflow its stack) costs one pass here.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

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

/// Bytes read from one log file; what follows is left unread (`truncated`).
inline constexpr uint64_t log_bytes_max = 256ull << 20;

/// A compiled pattern (RE2 syntax, https://github.com/google/re2/wiki/Syntax).
using log_regex = std::shared_ptr<const re2::RE2>;

/// Compiles `pattern`; on a problem returns null and sets `why` to one phrase that says what
/// is wrong and the fix (too long, or the syntax error RE2 names).
log_regex compile_log_pattern(const std::string& pattern, bool ignore_case, std::string& why);

struct log_line_match {
  uint64_t line_number = 0;
  std::string text; ///< the line, cut at 300 bytes
};

struct log_scan_result {
  bool exists = false;
  uint64_t bytes = 0;     ///< the file's size
  uint64_t lines = 0;     ///< lines read
  uint64_t matches = 0;   ///< lines that match
  uint64_t lines_cut = 0; ///< lines longer than log_line_bytes_max (matched on their start)
  bool truncated = false; ///< stopped at bytes_max
  std::vector<log_line_match> examples; ///< the first few matching lines
};

/// The path of a node's log in a run directory (`<run_dir>/nodes/<id>.log`, written by live
/// backends; the simulator writes none).
std::filesystem::path node_log_path(const std::filesystem::path& run_dir, const std::string& id);

/// Reads `file` line by line within the bounds above, calling `on_line(line, number)` for
/// each; the result has everything but matches and examples.
log_scan_result read_log_lines(const std::filesystem::path& file, uint64_t bytes_max,
                               const std::function<void(const std::string&, uint64_t)>& on_line);

/// Reads `file` line by line and counts the lines `re` matches (anywhere in the line).
log_scan_result scan_log_file(const std::filesystem::path& file, const re2::RE2& re,
                              uint64_t bytes_max = log_bytes_max, size_t examples_max = 5);

} // namespace troupe
