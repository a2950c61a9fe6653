#pragma once
// The agent's end of reverse tunnels: how a command in a container or a pod reaches a port on
// the orchestrator's machine (the run's sync service on its 127.0.0.1) when nothing there can
// dial that machine. The orchestrator keeps a few connections open to the agent's own port,
// each begun with a tunnel hello carrying the token, and the agent parks them; listen(P) opens
// a port on 127.0.0.1 here that stands for the orchestrator's 127.0.0.1:P. Each connection a
// command makes to it takes one parked connection, says {"type": "open", "to_port": P} on it,
// and from then on the two are spliced (splice.hpp). The orchestrator's end is tunnel_pool.hpp
// (it dials P on its side and replaces the parked connection used); the frames are in
// docs/agent-protocol.md, "Reverse tunnels".
//
// Bounds: at most idle_max parked connections (another is refused with an error frame), at
// most open_max tunnels at once (a command's connection beyond is closed at once), and a
// command's connection waits at most parked_wait for a parked one before it is closed.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "backends/agent/thread_set.hpp"
#include "backends/agent/wake_pipe.hpp"

namespace troupe::backends::agent {

class reverse_tunnels {
public:
  struct limits {
    size_t idle_max = 16;
    size_t open_max = 64;
    std::chrono::milliseconds parked_wait{10000};
    std::chrono::milliseconds hello_wait{5000}; ///< for a tunnel connection's hello
  };

  // -- constructors -----------------------------------------------------------

  explicit reverse_tunnels(limits l);
  reverse_tunnels()
    : reverse_tunnels(limits{}) {}
  /// close().
  ~reverse_tunnels();
  reverse_tunnels(const reverse_tunnels&) = delete;
  reverse_tunnels& operator=(const reverse_tunnels&) = delete;

  // -- serving ----------------------------------------------------------------

  /// From now until close(), accepts connections on `listen_fd` (the agent's own listening
  /// socket; it stays the caller's): each must send a tunnel hello carrying `token` within
  /// hello_wait and is then parked; anything else is answered by an error frame saying why
  /// and closed (the agent serves one orchestrator at a time).
  void accept_on(int listen_fd, const std::string& token);
  /// Listens on 127.0.0.1 (a free port) for commands that mean the orchestrator's
  /// 127.0.0.1:`to_port`; returns that port (the same one when asked for `to_port` again).
  /// Throws std::runtime_error with the reason.
  uint16_t listen(uint16_t to_port);
  /// Ends every tunnel, parked connection and listener and joins their threads; idempotent.
  void close() noexcept;

  // -- observation ------------------------------------------------------------

  /// {"listening": {"TO_PORT": PORT}, "parked", "opened", "refused"} for the agent's log and
  /// for tests.
  nlohmann::json stats() const;

private:
  void start_loop(); ///< mutex_ held
  void accept_loop();
  void take_tunnel_hello(int fd);
  void open_tunnel(int client, uint16_t to_port);
  void splice_tunnel(int client, uint16_t to_port); ///< on the tunnel's thread
  int take_parked(); ///< a live parked connection, or -1 after parked_wait

  limits limits_;
  mutable std::mutex mutex_;
  std::condition_variable parked_changed_;
  std::deque<int> parked_;
  std::map<uint16_t, std::pair<int, uint16_t>> listeners_; ///< to_port -> (fd, own port)
  int agent_listen_fd_ = -1;
  std::string token_;
  wake_pipe stop_; ///< signalled by close(): every thread ends
  wake_pipe wake_; ///< a new socket for the accept loop
  bool closed_ = false;
  std::thread loop_;
  thread_set tunnels_;
  uint64_t opened_ = 0;
  uint64_t refused_ = 0;
};

} // namespace troupe::backends::agent
