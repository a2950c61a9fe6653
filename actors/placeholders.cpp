#include "actors/placeholders.hpp"

#include <cctype>

namespace troupe {

namespace {

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

} // namespace

std::string expand_placeholders(std::string_view text, const placeholder_lookup& lookup) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') {
      out += text[i];
      continue;
    }
    size_t j = i + 1;
    while (j < text.size() && name_char(text[j]))
      ++j;
    if (j == i + 1 || j >= text.size() || text[j] != '}') {
      out += text[i]; // not a placeholder: keep the brace, go on
      continue;
    }
    const auto value = lookup(std::string(text.substr(i + 1, j - i - 1)));
    if (!value) {
      out += text[i];
      continue;
    }
    out += *value;
    i = j;
  }
  return out;
}

} // namespace troupe
