#pragma once
// A real `troupe agent --listen 127.0.0.1:PORT --token-file F` child (what runs in a pod or a
// container) for tests, killed by its PID if it is still running at the end, and the
// orchestrator's connection to it once it listens.
//
//   troupe::test::listening_agent a{dir};              // token "pod-token"
//   auto c = troupe::test::connect_agent(a, "pod-token", &error);

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "backends/agent/connection.hpp"
#include "tests/support/sockets.hpp"
#include "tests/support/troupe_child.hpp"
#include "tests/support/wait.hpp"

namespace troupe::test {

struct listening_agent {
  pid_t pid = -1;
  uint16_t port = 0;
  explicit listening_agent(const std::filesystem::path& dir) {
    std::ofstream{dir / "token"} << "pod-token\n";
    port = static_cast<uint16_t>(free_port());
    pid = start_troupe_child({"agent", "--listen", "127.0.0.1:" + std::to_string(port),
                              "--token-file", (dir / "token").string()},
                             dir / "agent.log");
  }
  ~listening_agent() {
    if (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  listening_agent(const listening_agent&) = delete;
  listening_agent& operator=(const listening_agent&) = delete;

  backends::agent::tcp_agent_options channel(const std::string& token) const {
    backends::agent::tcp_agent_options ch;
    ch.address = "127.0.0.1";
    ch.port = port;
    ch.token = token;
    ch.what = "the agent of pod test-0";
    return ch;
  }
};

/// Connects once the agent listens (it is a child that has just started); null, and the
/// reason in `error`, when it refuses.
inline std::shared_ptr<backends::agent::connection>
connect_agent(const listening_agent& a, const std::string& token, std::string* error) {
  using namespace std::chrono_literals;
  std::shared_ptr<backends::agent::connection> c;
  wait_until(
    [&] {
      try {
        c = backends::agent::connection::start_tcp(a.channel(token), nullptr);
        return true;
      } catch (const backends::agent::agent_error& e) {
        *error = e.what();
        return std::string(e.what()).find("Connection refused") == std::string::npos;
      }
    },
    10s);
  return c;
}

} // namespace troupe::test
