#pragma once
// Errors a user can cause. They carry the exit code and a one-sentence message that names
// the thing and the fix; the command line prints them without a stack trace.

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace troupe {

/// Exit codes shared by every command: 0 pass, 1 an expectation failed, 2 bad input.
enum exit_code : int { exit_pass = 0, exit_fail = 1, exit_bad_input = 2 };

/// A problem with what the user gave us (file, flag, environment): exit 2.
class user_error : public std::runtime_error {
public:
  explicit user_error(const std::string& what, int code = exit_bad_input)
    : std::runtime_error(what)
    , code_(code) {}
  int code() const noexcept { return code_; }

private:
  int code_;
};

/// The last line of a tool's output that is not blank, without trailing white space: where
/// ssh, kubectl or libpq say why they failed. "" when every line is blank.
inline std::string last_line(std::string_view text) {
  size_t end = text.size();
  while (end > 0) {
    const size_t start = text.rfind('\n', end - 1);
    const size_t from = start == std::string_view::npos ? 0 : start + 1;
    auto line = text.substr(from, end - from);
    const size_t last = line.find_last_not_of(" \t\r");
    if (last != std::string_view::npos)
      return std::string(line.substr(0, last + 1));
    end = start == std::string_view::npos ? 0 : start;
  }
  return {};
}

/// One problem found in a JSON document: where, and what is wrong there.
struct validation_error {
  std::string path;    ///< JSON path, e.g. `topology.groups[1].count`
  std::string message; ///< what is allowed and what was found
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
  bool operator==(const validation_error& o) const {
    return path == o.path && message == o.message;
  }
};

/// Every problem in a document at once (never only the first).
class validation_failed : public user_error {
public:
  explicit validation_failed(std::vector<validation_error> errors)
    : user_error(join(errors))
    , errors_(std::move(errors)) {}
  const std::vector<validation_error>& errors() const noexcept { return errors_; }

private:
  static std::string join(const std::vector<validation_error>& errors) {
    std::string out;
    for (const auto& e : errors) {
      if (!out.empty())
        out += '\n';
      out += e.to_string();
    }
    return out;
  }
  std::vector<validation_error> errors_;
};

/// The same problems, each with `where` (e.g. a file name) in front of its path, so that a
/// document read from a file says which file on every line.
inline validation_failed in_file(const std::string& where, const validation_failed& e) {
  std::vector<validation_error> v;
  for (const auto& x : e.errors())
    v.push_back({x.path.empty() ? where : where + ": " + x.path, x.message});
  return validation_failed(std::move(v));
}

} // namespace troupe
