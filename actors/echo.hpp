#pragma once
// How messages quote what a user wrote. A value echoed back in an error is cut to a short
// prefix and escaped, so that one problem stays one line however long or odd the input is (a
// 10 MB string, a name with a newline, bytes that are not UTF-8).

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace troupe {

/// The most characters (UTF-8 code points) of a user's value that a message repeats.
inline constexpr size_t echo_chars_max = 60;

/// `text` as a JSON string literal ("a\nb" with quotes and escapes), cut after
/// echo_chars_max characters with "…" after the closing quote.
std::string echo(std::string_view text);

/// A JSON value as messages show it: strings as echo() does, other values compact and cut
/// the same way.
std::string echo_json(const nlohmann::json& v);

/// A JSON path one key deeper: `base.key` (`key` at the top) for plain keys (letters,
/// digits, '_', '-'), otherwise `base[<echo(key)>]`, so that a path never carries a newline
/// or a megabyte of the user's text. An empty key gives `base`.
std::string join_key(const std::string& base, std::string_view key);

} // namespace troupe
