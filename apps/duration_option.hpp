#pragma once
// Durations on the command line, written as in scenarios ("30s", "10m", "1m30s", "250ms") or
// as a plain number of seconds ("120", "1.5"), so `--lease 2m` and `--lease 120` both work.

#include <chrono>
#include <string>

namespace troupe::apps {

/// Parses `text` given to `flag`; throws user_error naming the flag and the accepted forms.
/// Zero is accepted only with `zero_allowed` (a flag where 0 means "never").
std::chrono::nanoseconds parse_duration_option(const std::string& flag, const std::string& text,
                                               bool zero_allowed = false);

} // namespace troupe::apps
