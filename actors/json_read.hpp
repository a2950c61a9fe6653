#pragma once
// Reading JSON that a user wrote (scenarios, node programs, pipeline files, replay configs),
// with a limit on everything: the bytes read, the nesting depth, and numbers a double holds.
// The depth is checked while parsing, before a deeper value exists: nlohmann's dump(),
// comparisons and copies recurse, so a value nested 100,000 deep must never be built.
//
// Every problem is one user_error (exit 2) on one line:
//   `<where>: <json path>: <what>; <fix>`   (the path is left out at the top level)
//
//   auto doc = read_json_file("scenarios/x.json", "scenario file");

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace troupe {

/// Nesting levels of arrays and objects: troupe's own files use fewer than ten.
inline constexpr size_t json_depth_max = 64;

/// Bytes of one JSON document: the largest real input (a replay-test config of a whole
/// production run) is ~270 KB; 16 MiB leaves room and bounds what one file can cost.
inline constexpr uint64_t json_bytes_max = 16ull << 20;

/// Parses `text` (`where` names its source in messages, e.g. the file path).
nlohmann::json parse_json_bounded(std::string_view text, const std::string& where);

/// Reads and parses a file of at most json_bytes_max bytes. `what` says what the file is
/// ("scenario file") in the message when it cannot be read.
nlohmann::json read_json_file(const std::filesystem::path& file, const std::string& what);

} // namespace troupe
