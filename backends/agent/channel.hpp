#pragma once
// The one thing that differs between the backends that reach an agent over a byte stream of
// a command's stdin/stdout: which command. `local` runs `troupe agent --stdio` as a child,
// `ssh` runs `ssh -S CONTROL_SOCKET HOST /run/dir/troupe agent --stdio`; the connection
// (connection.hpp) starts it, says hello, owns its stream and reaps it the same way for both.
// The command gets the parent-death signal SIGTERM: when troupe dies (even by kill -9) the
// child agent stops, or the ssh client exits and the remote agent reads EOF and stops.

#include <chrono>
#include <cstdint>
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

/// An agent that listens (`troupe agent --listen HOST:PORT --token-file F`, in a container or
/// a pod): one TCP connection to it, whose hello carries the token. The end of the
/// connection is the agent's cue to stop its nodes, as the end of a stdio stream is.
struct tcp_channel {
  std::string address; ///< IPv4 address of the agent
  uint16_t port = 0;
  std::string token;
  /// How messages name the agent, e.g. "the agent of pod miner-0 (10.1.2.3:7070)".
  std::string what = "the agent";
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds hello_timeout{10000};
};

} // namespace troupe::backends::agent
