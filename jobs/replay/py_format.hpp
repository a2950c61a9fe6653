#pragma once
// Byte-exact renderings of Python values, for the replay-test compatible face: that service
// answers with `json.dumps(obj)` (", " and ": " separators, ASCII only) and its ETag is the
// SHA-1 of `str(dict)` (Python's repr). Hosts compare ETags byte for byte, so we must too.

#include "jobs/job.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace troupe::jobs {

/// `json.dumps(v)` with default arguments.
std::string py_json_dumps(const nlohmann::ordered_json& v);
/// `str(v)` / `repr(v)` of the Python value that `v` came from (dicts keep their order).
std::string py_repr(const nlohmann::ordered_json& v);
/// 40 lower-case hex digits.
std::string sha1_hex(std::string_view data);
/// `YYYY-MM-DDTHH:MM:SS` (UTC) of a millisecond time.
std::string format_time(time_ms t);

} // namespace troupe::jobs
