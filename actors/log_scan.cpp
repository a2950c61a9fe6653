#include "actors/log_scan.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>

#include <re2/re2.h>

namespace troupe {

log_regex compile_log_pattern(const std::string& pattern, bool ignore_case, std::string& why) {
  if (pattern.size() > log_pattern_chars_max) {
    why = "is " + std::to_string(pattern.size()) + " characters long, more than the " +
          std::to_string(log_pattern_chars_max) +
          "-character limit for a pattern; match a shorter distinctive part of the line";
    return nullptr;
  }
  RE2::Options o;
  o.set_case_sensitive(!ignore_case);
  o.set_log_errors(false); // the error goes into the validation message, not to stderr
  auto re = std::make_shared<const RE2>(pattern, o);
  if (!re->ok()) {
    std::string what = re->error();
    // RE2 repeats the offending part of the pattern: keep the message one short line.
    if (what.size() > 160)
      what = what.substr(0, 160) + "…";
    for (auto& c : what)
      if (c == '\n' || c == '\r')
        c = ' ';
    why =
      "is not a valid regular expression (RE2 syntax: no backreferences or lookaround): " + what +
      "; fix the pattern";
    return nullptr;
  }
  return re;
}

// -- log_line_splitter ------------------------------------------------------------

log_line_splitter::log_line_splitter(line_fn on_line)
  : on_line_(std::move(on_line)) {}

void log_line_splitter::end_line() {
  ++lines_;
  lines_cut_ += cut_;
  on_line_(line_, lines_);
  line_.clear();
  cut_ = false;
}

void log_line_splitter::feed(const char* data, size_t n) {
  bytes_ += n;
  for (size_t i = 0; i < n;) {
    const char* nl = static_cast<const char*>(std::memchr(data + i, '\n', n - i));
    const size_t stop = nl ? static_cast<size_t>(nl - data) : n;
    const size_t room = log_line_bytes_max - line_.size();
    line_.append(data + i, std::min(stop - i, room));
    cut_ = cut_ || stop - i > room;
    i = stop;
    if (nl) {
      end_line();
      ++i;
    }
  }
}

void log_line_splitter::finish() {
  if (!line_.empty() || cut_)
    end_line();
}

// -- log_matches ------------------------------------------------------------------

log_matches::log_matches(log_regex re, size_t examples_max)
  : re_(std::move(re))
  , examples_max_(examples_max) {}

bool log_matches::line(const std::string& text, uint64_t number) {
  if (!RE2::PartialMatch(text, *re_))
    return false;
  ++count_;
  if (examples_.size() < examples_max_)
    examples_.push_back(
      {number, text.size() > log_example_bytes_max ? text.substr(0, log_example_bytes_max) : text});
  return true;
}

// -- files ------------------------------------------------------------------------

std::filesystem::path node_log_path(const std::filesystem::path& run_dir, const std::string& id) {
  return run_dir / "nodes" / (id + ".log");
}

std::vector<std::filesystem::path> node_log_files(const std::filesystem::path& log) {
  // The supervisor keeps at most 100 rotated files (the backend param log_files_max).
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (int k = 100; k >= 1; --k) {
    std::filesystem::path p = log.string() + "." + std::to_string(k);
    if (std::filesystem::is_regular_file(p, ec))
      out.push_back(p);
  }
  out.push_back(log);
  return out;
}

namespace {

/// Feeds `file` to `split`, at most `bytes_max` bytes; true when bytes were left unread.
bool feed_file(const std::filesystem::path& file, uint64_t bytes_max, log_line_splitter& split) {
  std::ifstream in{file, std::ios::binary};
  // In chunks: a line is never read whole past its bound, a file never past bytes_max.
  char chunk[1 << 16];
  uint64_t read = 0;
  while (in && read < bytes_max) {
    in.read(chunk,
            static_cast<std::streamsize>(std::min<uint64_t>(sizeof chunk, bytes_max - read)));
    const auto n = static_cast<size_t>(in.gcount());
    read += n;
    split.feed(chunk, n);
  }
  return read >= bytes_max && in.peek() != std::char_traits<char>::eof();
}

/// Reads `files` in order as one stream of lines.
log_scan_result read_files(const std::vector<std::filesystem::path>& files, uint64_t bytes_max,
                           const log_line_splitter::line_fn& on_line) {
  log_scan_result s;
  log_line_splitter split{on_line};
  for (const auto& file : files) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
      continue;
    s.exists = true;
    s.bytes += std::filesystem::file_size(file, ec);
    if (feed_file(file, bytes_max - split.bytes(), split)) {
      s.truncated = true;
      break;
    }
  }
  if (!s.truncated)
    split.finish(); // the last line has no newline
  s.lines = split.lines();
  s.lines_cut = split.lines_cut();
  return s;
}

log_scan_result count_in(const std::vector<std::filesystem::path>& files, log_regex re,
                         uint64_t bytes_max, size_t examples_max) {
  log_matches m{std::move(re), examples_max};
  auto s = read_files(files, bytes_max,
                      [&](const std::string& line, uint64_t number) { m.line(line, number); });
  s.matches = m.count();
  s.examples = m.examples();
  return s;
}

} // namespace

log_scan_result read_log_lines(const std::filesystem::path& file, uint64_t bytes_max,
                               const std::function<void(const std::string&, uint64_t)>& on_line) {
  return read_files({file}, bytes_max, on_line);
}

log_scan_result scan_log_file(const std::filesystem::path& file, const re2::RE2& re,
                              uint64_t bytes_max, size_t examples_max) {
  // Not owned: the caller keeps `re` alive for the call.
  return count_in({file}, log_regex(&re, [](const re2::RE2*) {}), bytes_max, examples_max);
}

log_scan_result scan_node_logs(const std::filesystem::path& log, const log_regex& re,
                               uint64_t bytes_max, size_t examples_max) {
  return count_in(node_log_files(log), re, bytes_max, examples_max);
}

} // namespace troupe
