#include "backends/k8s/utc_time.hpp"

#include <cstdio>
#include <ctime>

namespace troupe::backends::k8s {

std::string utc_rfc3339(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<int64_t> parse_utc_rfc3339(const std::string& text) {
  std::tm tm{};
  int used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
    return std::nullopt;
  size_t rest = static_cast<size_t>(used);
  if (rest < text.size() && text[rest] == '.')
    for (++rest; rest < text.size() && text[rest] >= '0' && text[rest] <= '9'; ++rest) {
    }
  if (rest + 1 != text.size() || text[rest] != 'Z')
    return std::nullopt;
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(::timegm(&tm));
}

} // namespace troupe::backends::k8s
