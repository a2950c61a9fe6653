#pragma once
// The one thing that differs between the backends that reach an agent over a byte stream of
// a command's stdin/stdout: which command. `local` runs `troupe agent --stdio` as a child,
// `ssh` runs `ssh -S CONTROL_SOCKET HOST /run/dir/troupe agent --stdio`; the connection
// (connection.hpp) starts it, says hello, owns its stream and reaps it the same way for both.
// The command gets the parent-death signal SIGTERM: when troupe dies (even by kill -9) the
// child agent stops, or the ssh client exits and the remote agent reads EOF and stops.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace troupe::backends::agent {

struct stdio_channel {
  std::vector<std::string> argv;  ///< argv[0] is run by its path (no PATH search)
  std::filesystem::path log_path; ///< the command's stderr (the agent's log, ssh's messages)
  std::filesystem::path pid_path; ///< written with the command's PID while it runs
  /// How messages name the agent: "the agent" (then " (pid N)" is added).
  std::string what = "the agent";
  /// The fix named when argv[0] is missing or not executable.
  std::string missing_fix = "build troupe, or name the troupe binary in the local backend's "
                            "param \"agent_binary\"";
  std::chrono::milliseconds hello_timeout{10000};
};

} // namespace troupe::backends::agent
