#include "apps/seed_option.hpp"

#include "actors/echo.hpp"
#include "actors/errors.hpp"

namespace troupe::apps {

uint64_t parse_seed_option(const std::string& flag, const std::string& text) {
  uint64_t v = 0;
  bool ok = !text.empty() && text.size() <= 19;
  for (char c : text) {
    if (!ok || c < '0' || c > '9') {
      ok = false;
      break;
    }
    v = v * 10 + static_cast<uint64_t>(c - '0'); // 19 digits cannot wrap a uint64_t
  }
  if (!ok || v > seed_max)
    throw user_error(flag + ": must be an integer in 0.." + std::to_string(seed_max) +
                     " (the range of a scenario's \"seed\"), got " + echo(text));
  return v;
}

} // namespace troupe::apps
