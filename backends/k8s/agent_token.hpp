#pragma once
// The token a run's pods' agents ask of the orchestrator (`troupe agent --listen
// --token-file`): 32 random bytes as hex, new for every run, kept in the run's Secret.

#include <string>

namespace troupe::backends::k8s {

/// 64 hex digits from the kernel's random source; throws user_error when it cannot be read.
std::string new_agent_token();

} // namespace troupe::backends::k8s
