#pragma once
// The one time format of the k8s backend's annotations (troupe.dev/expires-at) and of the
// API server's timestamps: RFC 3339 in UTC, to the second ("2026-12-02T18:30:00Z").

#include <cstdint>
#include <optional>
#include <string>

namespace troupe::backends::k8s {

/// Seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ".
std::string utc_rfc3339(int64_t unix_seconds);

/// "YYYY-MM-DDTHH:MM:SSZ" (fractions of a second allowed and dropped) as seconds since the
/// epoch; nothing when the text is not such a time.
std::optional<int64_t> parse_utc_rfc3339(const std::string& text);

} // namespace troupe::backends::k8s
