#pragma once
// The agent as a process: `troupe agent --stdio` and `troupe agent --listen`. Each serves one
// orchestrator with a host_agent (backends/agent/agent.hpp) and sets up what a process of its
// own needs: where its log goes, its signals, its parent-death signal, its socket.

#include <cstdint>
#include <string>

namespace troupe::backends::agent {

/// `troupe agent --stdio`: frames on stdin/stdout, logs on stderr (or `log_file`). Sets the
/// parent-death signal (SIGTERM, so that the nodes are stopped in order), ignores SIGINT (the
/// orchestrator tears down on Ctrl-C) and SIGPIPE, and ends on SIGTERM/SIGHUP as at EOF.
/// With `expires_at` (Unix seconds, above 0) it stops every node and exits 3 then, as at EOF.
/// Returns the process's exit code.
int run_stdio_agent(const std::string& log_file, int64_t expires_at = 0);

/// `troupe agent --listen HOST:PORT --token-file F`: waits for one orchestrator on a TCP
/// connection whose hello carries the token in F (a hello with another token, or none, is
/// refused and the next connection awaited), serves it, and stops everything when it goes
/// away, as the stdio agent. While it serves, the port takes only that orchestrator's reverse
/// tunnels (reverse_tunnels.hpp). No parent-death signal: a container's agent has no orchestrator
/// for a parent. Returns the process's exit code (2: no token, a port it cannot listen on).
int run_listening_agent(const std::string& host, uint16_t port, const std::string& token_file,
                        const std::string& log_file);

} // namespace troupe::backends::agent
