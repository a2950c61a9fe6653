#include "jobs/bounded_json.hpp"

#include "actors/errors.hpp"

#include <fstream>
#include <vector>

namespace troupe::jobs {

namespace {

/// `s` with control characters as spaces, cut to at most `max` bytes at a UTF-8 boundary.
/// Sets `cut` when something was left out.
std::string printable_prefix(std::string_view s, size_t max, bool& cut) {
  cut = s.size() > max;
  size_t n = cut ? max : s.size();
  // Never end inside a multi-byte sequence: back off over continuation bytes and the lead.
  if (cut) {
    size_t back = n;
    while (back > 0 && (static_cast<unsigned char>(s[back]) & 0xC0) == 0x80)
      --back;
    n = back;
  }
  std::string out(s.substr(0, n));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = ' ';
  return out;
}

/// The nesting depth of `v`, counted without recursion, stopping once past `limit`.
int depth_of(const nlohmann::json& v, int limit) {
  struct frame {
    const nlohmann::json* value;
    int depth;
  };
  std::vector<frame> todo{{&v, 0}};
  int deepest = 0;
  while (!todo.empty()) {
    const frame f = todo.back();
    todo.pop_back();
    if (!f.value->is_structured())
      continue;
    const int d = f.depth + 1;
    if (d > deepest)
      deepest = d;
    if (deepest > limit)
      return deepest;
    for (const auto& child : *f.value)
      todo.push_back({&child, d});
  }
  return deepest;
}

} // namespace

size_t json_nesting_over(std::string_view text, int depth_max) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i; // the escaped character, whatever it is
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > depth_max)
          return i;
        break;
      case ']':
      case '}':
        if (depth > 0)
          --depth;
        break;
      default:
        break;
    }
  }
  return std::string_view::npos;
}

std::optional<nlohmann::json> parse_json_bounded(std::string_view text, std::string& why) {
  if (const size_t at = json_nesting_over(text); at != std::string_view::npos) {
    why = "nests arrays and objects deeper than " + std::to_string(json_depth_max) +
          " levels (at byte " + std::to_string(at) + ")";
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 9: ...; last read:
    // '<token>'": the token can be megabytes long, so the reason is cut.
    std::string what = e.what();
    const auto bracket = what.find("] ");
    if (bracket != std::string::npos)
      what.erase(0, bracket + 2);
    why = "is not valid JSON (" + one_line(what, 160) + ")";
    return std::nullopt;
  }
}

std::string excerpt(std::string_view s, size_t max) {
  bool cut = false;
  std::string out = printable_prefix(s, max, cut);
  if (cut)
    out += "… (" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string excerpt_json(const nlohmann::json& v, size_t max) {
  if (v.is_string())
    return "\"" + excerpt(v.get_ref<const std::string&>(), max) + "\"";
  if (v.is_structured() && depth_of(v, json_depth_max) > json_depth_max)
    return v.is_array() ? "[…]" : "{…}";
  return excerpt(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), max);
}

std::string one_line(std::string_view message, size_t max) {
  bool cut = false;
  std::string out = printable_prefix(message, max, cut);
  if (cut)
    out += "…";
  return out;
}

} // namespace troupe::jobs
