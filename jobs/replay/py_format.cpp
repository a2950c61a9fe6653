#include "jobs/replay/py_format.hpp"

#include "jobs/http/http_types.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <ctime>
#include <strings.h>

namespace troupe::jobs {

namespace {

/// Decodes one UTF-8 code point at `i` (advancing it); invalid bytes decode as themselves.
uint32_t next_code_point(std::string_view s, size_t& i) {
  const auto c = static_cast<unsigned char>(s[i++]);
  if (c < 0x80)
    return c;
  int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
  uint32_t cp = extra == 3 ? c & 0x07 : extra == 2 ? c & 0x0F : c & 0x1F;
  if (extra == 0 || i + static_cast<size_t>(extra) > s.size())
    return c;
  for (int k = 0; k < extra; ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
  return cp;
}

void json_string(std::string& out, std::string_view s) {
  out += '"';
  char buf[16];
  for (size_t i = 0; i < s.size();) {
    const uint32_t cp = next_code_point(s, i);
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (cp >= 0x20 && cp < 0x7F) {
      out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      std::snprintf(buf, sizeof buf, "\\u%04x", cp);
      out += buf;
    } else {
      const uint32_t v = cp - 0x10000;
      std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      out += buf;
    }
  }
  out += '"';
}

void repr_string(std::string& out, std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out += quote;
  char buf[16];
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    const uint32_t cp = next_code_point(s, i);
    if (cp == static_cast<uint32_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || cp == 0x7F) {
      std::snprintf(buf, sizeof buf, "\\x%02x", cp);
      out += buf;
    } else if (cp >= 0x80 && cp < 0xA0) {
      std::snprintf(buf, sizeof buf, "\\x%02x", cp);
      out += buf;
    } else {
      out.append(s.substr(start, i - start)); // printable: Python 3 keeps it as is
    }
  }
  out += quote;
}

void dumps(std::string& out, const nlohmann::ordered_json& v, bool repr) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      out += repr ? "None" : "null";
      break;
    case nlohmann::json::value_t::boolean:
      out += v.get<bool>() ? (repr ? "True" : "true") : (repr ? "False" : "false");
      break;
    case nlohmann::json::value_t::string:
      if (repr)
        repr_string(out, v.get_ref<const std::string&>());
      else
        json_string(out, v.get_ref<const std::string&>());
      break;
    case nlohmann::json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first)
          out += ", ";
        first = false;
        dumps(out, e, repr);
      }
      out += ']';
      break;
    }
    case nlohmann::json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.items()) {
        if (!first)
          out += ", ";
        first = false;
        if (repr)
          repr_string(out, k);
        else
          json_string(out, k);
        out += ": ";
        dumps(out, e, repr);
      }
      out += '}';
      break;
    }
    default:
      // Integers and floats: nlohmann prints integers as Python does; floats never occur in
      // this protocol (Python would print repr(float), which %.17g approximates).
      out += v.dump();
      break;
  }
}

} // namespace

std::string py_json_dumps(const nlohmann::ordered_json& v) {
  std::string out;
  dumps(out, v, false);
  return out;
}

std::string py_repr(const nlohmann::ordered_json& v) {
  std::string out;
  dumps(out, v, true);
  return out;
}

std::string sha1_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha1(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string format_time(time_ms t) {
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

// -- http_types ------------------------------------------------------------------

bool http_request::has_param(const std::string& k) const {
  for (const auto& [n, v] : params)
    if (n == k)
      return true;
  return false;
}

std::optional<std::string> http_request::param(const std::string& k) const {
  for (const auto& [n, v] : params)
    if (n == k)
      return v;
  return std::nullopt;
}

std::optional<std::string> http_request::header(const std::string& k) const {
  for (const auto& [n, v] : headers)
    if (strcasecmp(n.c_str(), k.c_str()) == 0)
      return v;
  return std::nullopt;
}

std::optional<std::string> http_response::header(const std::string& k) const {
  for (const auto& [n, v] : headers)
    if (strcasecmp(n.c_str(), k.c_str()) == 0)
      return v;
  return std::nullopt;
}

} // namespace troupe::jobs
