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

std::filesystem::path node_log_path(const std::filesystem::path& run_dir, const std::string& id) {
  return run_dir / "nodes" / (id + ".log");
}

log_scan_result read_log_lines(const std::filesystem::path& file, uint64_t bytes_max,
                               const std::function<void(const std::string&, uint64_t)>& on_line) {
  log_scan_result s;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    return s;
  s.exists = true;
  s.bytes = std::filesystem::file_size(file, ec);
  std::ifstream in{file, std::ios::binary};
  std::string line;
  bool cut = false; // the current line outgrew log_line_bytes_max
  auto end_line = [&] {
    ++s.lines;
    s.lines_cut += cut;
    on_line(line, s.lines);
    line.clear();
    cut = false;
  };
  // In chunks: a line is never read whole past its bound, a file never past bytes_max.
  char chunk[1 << 16];
  uint64_t read = 0;
  while (in && read < bytes_max) {
    in.read(chunk,
            static_cast<std::streamsize>(std::min<uint64_t>(sizeof chunk, bytes_max - read)));
    const auto n = static_cast<size_t>(in.gcount());
    read += n;
    for (size_t i = 0; i < n;) {
      const char* nl = static_cast<const char*>(std::memchr(chunk + i, '\n', n - i));
      const size_t stop = nl ? static_cast<size_t>(nl - chunk) : n;
      const size_t room = log_line_bytes_max - line.size();
      line.append(chunk + i, std::min(stop - i, room));
      cut = cut || stop - i > room;
      i = stop;
      if (nl) {
        end_line();
        ++i;
      }
    }
  }
  if (read >= bytes_max && in.peek() != std::char_traits<char>::eof())
    s.truncated = true;
  else if (!line.empty() || cut)
    end_line(); // the last line has no newline
  return s;
}

log_scan_result scan_log_file(const std::filesystem::path& file, const re2::RE2& re,
                              uint64_t bytes_max, size_t examples_max) {
  std::vector<log_line_match> examples;
  uint64_t matches = 0;
  auto s = read_log_lines(file, bytes_max, [&](const std::string& line, uint64_t number) {
    if (!RE2::PartialMatch(line, re))
      return;
    ++matches;
    if (examples.size() < examples_max)
      examples.push_back({number, line.size() > 300 ? line.substr(0, 300) : line});
  });
  s.matches = matches;
  s.examples = std::move(examples);
  return s;
}

} // namespace troupe
