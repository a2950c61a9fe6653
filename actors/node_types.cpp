#include "actors/node_types.hpp"

namespace troupe {

namespace {
constexpr const char* action_names[] = {"stop",  "start",  "restart", "kill",
                                        "pause", "resume", "isolate", "heal"};
} // namespace

const char* to_string(control_action a) noexcept { return action_names[static_cast<int>(a)]; }

bool parse_control_action(const std::string& s, control_action& out) noexcept {
  for (int i = 0; i < 8; ++i)
    if (s == action_names[i]) {
      out = static_cast<control_action>(i);
      return true;
    }
  return false;
}

} // namespace troupe
