#pragma once
// JSON text without a JSON tree, for the HTTP hot path (claim and complete): building and
// tearing down an nlohmann::json object per request cost more than the rest of the request's
// user-space work together.
//
// The scanner accepts a strict subset of JSON and says "not handled" (false) for anything
// outside it — malformed text, but also valid text it does not decode (non-ASCII bytes,
// \u escapes, nesting deeper than 64) — so callers fall back to nlohmann::json, which then
// gives exactly the old answer or error. Whatever the scanner accepts, nlohmann accepts too,
// with the same meaning.

#include <string>
#include <string_view>
#include <vector>

namespace troupe::jobs::json_text {

/// Appends `s` as a JSON string literal, escaped as nlohmann::json::dump() escapes it (so
/// non-ASCII text goes through nlohmann, which also rejects invalid UTF-8 as before).
void append_string(std::string& out, std::string_view s);

/// Appends the compact form of the JSON text `text` (one value, whitespace around it
/// allowed): whitespace outside strings removed. False, with `out` unchanged, when `text`
/// is not in the handled subset.
bool append_compact(std::string& out, std::string_view text);

/// One member of a top-level object.
struct member {
  std::string_view key;   ///< the key (keys with escapes are not handled)
  std::string_view value; ///< the value's text as sent (for strings: without the quotes)
  bool is_string = false;
  bool is_null = false;
  bool has_escapes = false; ///< a string value with backslash escapes (value is raw)
};

/// Splits a top-level JSON object into its members, in order (a repeated key appears
/// twice: nlohmann keeps the last). False when `text` is not an object in the handled
/// subset.
bool split_object(std::string_view text, std::vector<member>& out);

/// The last member named `key`, or null.
const member* find(const std::vector<member>& members, std::string_view key);

} // namespace troupe::jobs::json_text
