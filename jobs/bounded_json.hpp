#pragma once
// JSON that arrives from outside (HTTP bodies, stored payloads, job files), read with limits.
//
// Why: nlohmann's parser keeps its own stack, but dump(), comparisons and every reader that
// walks a value recurse once per nesting level, so one body nested 100,000 deep took
// `troupe jobs serve` down with a stack overflow (issue 17). The depth is checked by a scan
// of the text before anything is built (one pass, brackets outside strings), so a refused
// value is never built at all. 64 levels is far more than any job payload or replay status
// needs and far less than any stack can hold.
//
// Messages that quote what a client sent quote a short prefix of it: a value of 8 MiB
// echoed back in a 400 body (or a log line) helps no one.

#include <nlohmann/json.hpp>

#include "actors/json_read.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::jobs {

/// Arrays and objects may nest this deep in anything read from outside: the same limit as
/// the files users write (actors/json_read.hpp).
constexpr int json_depth_max = static_cast<int>(troupe::json_depth_max);

/// The offset of the bracket that opens nesting level `depth_max + 1` (outside strings), or
/// npos when `text` never nests that deep. Malformed text is scanned all the same (the
/// parser refuses it afterwards); the scan never reads past `text`.
size_t json_nesting_over(std::string_view text, int depth_max = json_depth_max);

/// Parses `text` as one JSON value no deeper than json_depth_max. On failure nullopt, and
/// `why` says what is wrong in one line (syntax error with its byte offset, too deep, number
/// out of range) without quoting the text.
std::optional<nlohmann::json> parse_json_bounded(std::string_view text, std::string& why);

/// At most `max` characters of `s`, cut at a UTF-8 boundary, with "…" and the full length
/// when cut; control characters (newlines) are shown as spaces so messages stay one line.
std::string excerpt(std::string_view s, size_t max = 64);
/// The same for a value's compact JSON (dumped only when its depth is within the limit).
std::string excerpt_json(const nlohmann::json& v, size_t max = 64);

/// `message` as one line (control characters as spaces) of at most `max` characters.
std::string one_line(std::string_view message, size_t max = 512);

} // namespace troupe::jobs
