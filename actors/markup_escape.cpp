#include "actors/markup_escape.hpp"

#include <cstdio>

namespace troupe {

namespace {

struct escape_mode {
  bool quotes;          ///< " and ' as references (attribute values)
  bool whitespace_refs; ///< line breaks and tabs as references (XML attribute values)
};

std::string escape(std::string_view text, escape_mode m) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += m.quotes ? "&quot;" : "\"";
        break;
      case '\'':
        out += m.quotes ? "&#39;" : "'";
        break;
      // An attribute value's line breaks and tabs are normalised to spaces by every parser
      // unless written as references.
      case '\n':
        out += m.whitespace_refs ? "&#10;" : "\n";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\t':
        out += m.whitespace_refs ? "&#9;" : "\t";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          // Neither XML 1.0 nor HTML text can carry these, not even as references.
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

} // namespace

std::string html_escape(std::string_view s) { return escape(s, {true, false}); }

std::string xml_escape(std::string_view text, bool attribute) {
  return escape(text, {attribute, attribute});
}

} // namespace troupe
