#pragma once
// Units as users write them in scenarios, parsed and printed so that print(parse(x)) is
// canonical and parse(print(v)) == v:
//   durations  250ms, 2s, 10m, 1h, 1m30s, 1.5s, 100us, 10ns
//   rates      10/s, 600/m, 2/h   (events per second)
//   bandwidth  10Mbps, 1Gbps, 500kbps, 64bps   (decimal bits per second)

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace troupe {

using duration = std::chrono::nanoseconds;

std::optional<duration> parse_duration(const std::string& text);
std::string format_duration(duration d);
/// For people, not for round trips: "1.13s", "250ms", "2m30s".
std::string format_seconds(duration d);
/// Whole milliseconds (truncated): what timeouts of live tools and sockets take.
inline std::chrono::milliseconds to_ms(duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

/// Events per second.
std::optional<double> parse_rate(const std::string& text);
std::string format_rate(double per_second);

/// Bits per second.
std::optional<uint64_t> parse_bandwidth(const std::string& text);
std::string format_bandwidth(uint64_t bps);

// The text each parser accepts, as an ECMA-262 regular expression (a JSON Schema "pattern";
// tests/actors/units_test.cpp checks that pattern and parser agree). A number is digits with
// at most one '.', no sign and no exponent.
inline constexpr const char* duration_pattern = "^(([0-9]+\\.?[0-9]*|\\.[0-9]+)(ns|us|ms|s|m|h))+$";
inline constexpr const char* rate_pattern = "^([0-9]+\\.?[0-9]*|\\.[0-9]+)/[smh]$";
inline constexpr const char* bandwidth_pattern = "^([0-9]+\\.?[0-9]*|\\.[0-9]+)[kKMG]?bps$";

} // namespace troupe
