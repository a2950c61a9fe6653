// troupe agent --stdio: the process beside the nodes on one host (backends/agent/agent.hpp).
// It speaks the agent protocol (docs/agent-protocol.md) on stdin/stdout and logs to stderr or
// --log-file; the local backend starts it as a child (backend param "agent": "child"), the
// ssh backend will start it over an SSH session. `--listen HOST:PORT --token-file F` serves
// one TCP orchestrator that presents the token (containers, pods).

#include "actors/errors.hpp"
#include "apps/commands.hpp"
#include "backends/agent/agent_process.hpp"

namespace troupe::apps {

void add_agent_command(CLI::App& root, int& exit_code) {
  auto cmd = root.add_subcommand(
    "agent", "Run the agent beside the nodes of one host: speaks the agent protocol to one "
             "orchestrator (docs/agent-protocol.md) and stops every node it started when the "
             "orchestrator goes away");
  static bool stdio = false;
  static std::string listen;
  static std::string token_file;
  static std::string log_file;
  static int64_t expires_at = 0;
  cmd->add_flag("--stdio", stdio, "frames on stdin/stdout (a pipe or an SSH session)");
  cmd->add_option("--listen", listen, "HOST:PORT to accept one orchestrator on (TCP)");
  cmd->add_option("--token-file", token_file, "the token a --listen orchestrator must present");
  cmd->add_option("--log-file", log_file, "append the agent's log here instead of stderr");
  cmd->add_option("--expires-at", expires_at,
                  "Unix time (seconds) at which the agent stops its nodes and exits 3 (--stdio: "
                  "a provisioned host's time-to-live)");
  cmd->callback([&exit_code] {
    if (stdio == !listen.empty())
      throw user_error("troupe agent needs one of --stdio (frames on stdin/stdout) or --listen "
                       "HOST:PORT (one TCP orchestrator with the --token-file token)");
    if (stdio) {
      exit_code = backends::agent::run_stdio_agent(log_file, expires_at);
      return;
    }
    auto colon = listen.rfind(':');
    int port = -1;
    try {
      port = colon == std::string::npos ? -1 : std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
    }
    if (port < 1 || port > 65535)
      throw user_error("--listen " + listen + ": give HOST:PORT, e.g. 127.0.0.1:7300");
    exit_code = backends::agent::run_listening_agent(
      listen.substr(0, colon), static_cast<uint16_t>(port), token_file, log_file);
  });
}

} // namespace troupe::apps
