#include "apps/duration_option.hpp"

#include "actors/echo.hpp"
#include "actors/errors.hpp"
#include "actors/units.hpp"

#include <cmath>
#include <cstdlib>

namespace troupe::apps {

std::chrono::nanoseconds parse_duration_option(const std::string& flag, const std::string& text,
                                               bool zero_allowed) {
  std::optional<std::chrono::nanoseconds> d;
  // A plain number is seconds (what these flags took before units were accepted).
  char* end = nullptr;
  const double seconds = text.empty() ? NAN : std::strtod(text.c_str(), &end);
  if (end && *end == '\0' && std::isfinite(seconds) && seconds >= 0 && seconds < 1e9)
    d = std::chrono::nanoseconds(static_cast<int64_t>(std::llround(seconds * 1e9)));
  else
    d = parse_duration(text);
  const std::string forms = "a duration like 30s, 10m or 1h, or a number of seconds";
  if (!d || d->count() < 0)
    throw user_error(flag + ": must be " + forms + ", got " + echo(text));
  if (d->count() == 0 && !zero_allowed)
    throw user_error(flag + ": must be more than zero, got " + echo(text));
  return *d;
}

} // namespace troupe::apps
