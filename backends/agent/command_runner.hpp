#pragma once
// One node-side command on the agent's host (the `run_command` op; the `commands` workload):
// `/bin/sh -c COMMAND` in its own process group, stdout and stderr together, at most
// `timeout` (then the whole group gets SIGKILL), its last `tail_lines` lines kept (at most
// tail_bytes_max), its exit status described. The caller's thread waits; the child dies with
// that thread (PR_SET_PDEATHSIG), so a dying agent leaves no command behind. Its environment
// is the agent's, with TROUPE_BIN naming troupe's executable on that host (the agent's own:
// `"$TROUPE_BIN" sync barrier ...` runs on every backend, in a container's image too).

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace troupe::backends::agent {

inline constexpr const char* troupe_bin_env = "TROUPE_BIN";

struct command_spec {
  std::string command;
  std::vector<std::pair<std::string, std::string>> env; ///< added to the agent's environment
  std::filesystem::path cwd;                            ///< empty: the agent's own
  std::chrono::milliseconds timeout{60'000};
  size_t tail_lines = 20;
  size_t tail_bytes_max = 16u << 10;
};

struct command_outcome {
  int exit_code = -1; ///< -1: killed by a signal, timed out, or not started
  bool timed_out = false;
  std::string status; ///< "exit 0", "exit 3", "killed by SIGKILL after the 30s timeout", ...
  std::string tail;   ///< the last lines of its output
  double seconds = 0;
};

/// Runs `spec`; throws std::runtime_error when the command cannot be started (fork, pipe).
command_outcome run_command(const command_spec& spec);

} // namespace troupe::backends::agent
