#include "actors/echo.hpp"

namespace troupe {

namespace {

// Length in bytes of the first `chars` UTF-8 code points of `text` (continuation bytes do not
// start a character; invalid bytes count as one character each).
size_t prefix_bytes(std::string_view text, size_t chars) {
  size_t i = 0, n = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) {
      if (n == chars)
        return i;
      ++n;
    }
    ++i;
  }
  return i;
}

std::string escaped(std::string_view text) {
  // nlohmann's dump escapes quotes, backslashes and control characters; `replace` turns bytes
  // that are not UTF-8 into U+FFFD instead of throwing.
  return nlohmann::json(std::string(text))
    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

std::string echo(std::string_view text) {
  const size_t keep = prefix_bytes(text, echo_chars_max);
  if (keep == text.size())
    return escaped(text);
  return escaped(text.substr(0, keep)) + "…";
}

std::string echo_json(const nlohmann::json& v) {
  if (v.is_string())
    return echo(v.get_ref<const std::string&>());
  // Containers are cut before they are printed: a huge array costs no more than a small one.
  if (v.is_array() && v.size() > echo_chars_max) {
    nlohmann::json head = nlohmann::json::array();
    for (size_t i = 0; i < echo_chars_max; ++i)
      head.push_back(v[i]);
    return echo_json(head);
  }
  if (v.is_object() && v.size() > echo_chars_max) {
    nlohmann::json head = nlohmann::json::object();
    for (auto it = v.begin(); head.size() < echo_chars_max; ++it)
      head[it.key()] = it.value();
    return echo_json(head);
  }
  auto s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const size_t keep = prefix_bytes(s, echo_chars_max);
  if (keep == s.size())
    return s;
  return s.substr(0, keep) + "…";
}

std::string join_key(const std::string& base, std::string_view key) {
  if (key.empty())
    return base;
  bool plain = key.size() <= echo_chars_max;
  for (char c : key)
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-');
  if (!plain)
    return base + "[" + echo(key) + "]";
  return base.empty() ? std::string(key) : base + "." + std::string(key);
}

} // namespace troupe
