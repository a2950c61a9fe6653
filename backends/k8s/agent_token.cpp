#include "backends/k8s/agent_token.hpp"

#include <sys/random.h>

#include <cstdio>

#include "actors/errors.hpp"

namespace troupe::backends::k8s {

std::string new_agent_token() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    const auto n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n <= 0)
      throw user_error("cannot read random bytes for the agents' token (getrandom failed)");
    got += static_cast<size_t>(n);
  }
  std::string out;
  char hex[3];
  for (unsigned char b : bytes) {
    std::snprintf(hex, sizeof hex, "%02x", b);
    out += hex;
  }
  return out;
}

} // namespace troupe::backends::k8s
