#include "jobs/http/json_text.hpp"

#include <nlohmann/json.hpp>

namespace troupe::jobs::json_text {

namespace {

constexpr int depth_max = 64;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void skip_space(const char*& p, const char* e) {
  while (p < e && is_space(*p))
    ++p;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// A string starting at `p` (on its opening quote); `p` ends past the closing quote.
bool scan_string(const char*& p, const char* e, bool& escapes) {
  ++p;
  while (p < e) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') {
      ++p;
      return true;
    }
    if (c < 0x20 || c >= 0x80)
      return false; // control characters are invalid; UTF-8 is left to nlohmann
    if (c == '\\') {
      if (p + 1 >= e)
        return false;
      switch (p[1]) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          break;
        default:
          return false; // \u (surrogates are nlohmann's business) or an invalid escape
      }
      escapes = true;
      p += 2;
      continue;
    }
    ++p;
  }
  return false;
}

/// Numbers with an exponent or more than 18 digits are left to nlohmann (which reports an
/// overflow such as 1e999 as an error).
bool scan_number(const char*& p, const char* e) {
  const char* begin = p;
  if (p < e && *p == '-')
    ++p;
  if (p >= e)
    return false;
  if (*p == '0') {
    ++p;
  } else if (*p >= '1' && *p <= '9') {
    while (p < e && is_digit(*p))
      ++p;
  } else {
    return false;
  }
  if (p < e && *p == '.') {
    ++p;
    if (p >= e || !is_digit(*p))
      return false;
    while (p < e && is_digit(*p))
      ++p;
  }
  if (p < e && (*p == 'e' || *p == 'E'))
    return false;
  const auto length = p - begin;
  const int extra =
    (*begin == '-') + (std::string_view(begin, length).find('.') != std::string_view::npos);
  return length - extra <= 18;
}

bool scan_literal(const char*& p, const char* e, std::string_view word) {
  if (static_cast<size_t>(e - p) < word.size() || std::string_view(p, word.size()) != word)
    return false;
  p += word.size();
  return true;
}

/// One value starting at `p` (no leading whitespace); `p` ends past it.
bool scan_value(const char*& p, const char* e, int depth) {
  if (p >= e)
    return false;
  switch (*p) {
    case '"': {
      bool escapes = false;
      return scan_string(p, e, escapes);
    }
    case 't':
      return scan_literal(p, e, "true");
    case 'f':
      return scan_literal(p, e, "false");
    case 'n':
      return scan_literal(p, e, "null");
    case '[':
    case '{': {
      // An array's elements and an object's members share one loop; a member is a string
      // key and a colon before its value.
      const bool object = *p == '{';
      const char close = object ? '}' : ']';
      if (depth >= depth_max)
        return false;
      ++p;
      skip_space(p, e);
      if (p < e && *p == close) {
        ++p;
        return true;
      }
      for (;;) {
        if (object) {
          bool escapes = false;
          if (p >= e || *p != '"' || !scan_string(p, e, escapes))
            return false;
          skip_space(p, e);
          if (p >= e || *p != ':')
            return false;
          ++p;
          skip_space(p, e);
        }
        if (!scan_value(p, e, depth + 1))
          return false;
        skip_space(p, e);
        if (p >= e)
          return false;
        if (*p == close) {
          ++p;
          return true;
        }
        if (*p != ',')
          return false;
        ++p;
        skip_space(p, e);
      }
    }
    default:
      return scan_number(p, e);
  }
}

} // namespace

void append_string(std::string& out, std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) {
      out += nlohmann::json(std::string(s)).dump(); // validates UTF-8 (throws as before)
      return;
    }
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static const char hex[] = "0123456789abcdef";
          out += "\\u00";
          out += hex[(c >> 4) & 0xF];
          out += hex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

bool append_compact(std::string& out, std::string_view text) {
  const char* p = text.data();
  const char* e = p + text.size();
  skip_space(p, e);
  const char* begin = p;
  if (!scan_value(p, e, 0))
    return false;
  const char* end = p;
  skip_space(p, e);
  if (p != e)
    return false;
  // Validated: copy without the whitespace outside strings.
  bool in_string = false;
  out.reserve(out.size() + static_cast<size_t>(end - begin));
  for (const char* q = begin; q < end; ++q) {
    const char c = *q;
    if (in_string) {
      out += c;
      if (c == '\\') {
        out += *++q; // escapes are two characters here (no \u)
      } else if (c == '"') {
        in_string = false;
      }
    } else if (!is_space(c)) {
      out += c;
      in_string = c == '"';
    }
  }
  return true;
}

bool split_object(std::string_view text, std::vector<member>& out) {
  out.clear();
  const char* p = text.data();
  const char* e = p + text.size();
  skip_space(p, e);
  if (p >= e || *p != '{')
    return false;
  ++p;
  skip_space(p, e);
  bool closed = false;
  if (p < e && *p == '}') {
    ++p;
    closed = true;
  }
  while (!closed) {
    if (p >= e || *p != '"')
      return false;
    bool key_escapes = false;
    const char* key_begin = p + 1;
    if (!scan_string(p, e, key_escapes) || key_escapes)
      return false;
    member m;
    m.key = std::string_view(key_begin, static_cast<size_t>(p - 1 - key_begin));
    skip_space(p, e);
    if (p >= e || *p != ':')
      return false;
    ++p;
    skip_space(p, e);
    const char* v = p;
    if (p < e && *p == '"') {
      if (!scan_string(p, e, m.has_escapes))
        return false;
      m.is_string = true;
      m.value = std::string_view(v + 1, static_cast<size_t>(p - 1 - (v + 1)));
    } else {
      if (!scan_value(p, e, 1))
        return false;
      m.value = std::string_view(v, static_cast<size_t>(p - v));
      m.is_null = m.value == "null";
    }
    out.push_back(m);
    skip_space(p, e);
    if (p >= e)
      return false;
    if (*p == '}') {
      ++p;
      closed = true;
    } else if (*p == ',') {
      ++p;
      skip_space(p, e);
    } else {
      return false;
    }
  }
  skip_space(p, e);
  return p == e;
}

const member* find(const std::vector<member>& members, std::string_view key) {
  const member* found = nullptr;
  for (const auto& m : members)
    if (m.key == key)
      found = &m;
  return found;
}

} // namespace troupe::jobs::json_text
