#pragma once
// The orchestrator's end of the agent protocol: one connection to one agent. It starts the
// agent (as a child process running `troupe agent --stdio`, or as a host_agent on a thread of
// this process over a socketpair: the same dispatch either way), says hello, sends requests
// and matches replies by id, and hands events to one handler (and, last, a made-up
// {"event": "agent_gone", "reason": ...} when the stream ends). A reader thread owns the
// incoming stream; requests may be sent from any thread.
//
// The child is started from the reader thread, which lives until close(): the agent's
// parent-death signal (per thread, PR_SET_PDEATHSIG) fires only when this process dies.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "backends/agent/channel.hpp"

namespace troupe::backends::agent {

class host_agent;

/// How to start a child agent.
struct child_agent_options {
  std::string binary;             ///< the troupe executable (runs `BINARY agent --stdio`)
  std::filesystem::path log_path; ///< the agent's stderr (agent.log in the run directory)
  std::filesystem::path pid_path; ///< written with the agent's PID while it runs
  std::chrono::milliseconds hello_timeout{10000};
};

/// How to reach a listening agent (`troupe agent --listen HOST:PORT --token-file F`: in a
/// container or a pod) over TCP.
struct tcp_agent_options {
  std::string address = "127.0.0.1";
  uint16_t port = 0;
  std::string token;              ///< the first line of the agent's token file
  std::string what = "the agent"; ///< how messages name it ("the agent of node x")
  std::chrono::milliseconds hello_timeout{10000};
};

/// A request the agent refused (its reason), or a connection that is gone.
class agent_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class connection {
public:
  using event_handler = std::function<void(const nlohmann::json&)>;

  // -- constructors -----------------------------------------------------------

  /// Starts `opts.binary agent --stdio` and says hello; throws agent_error with one sentence
  /// (a missing binary, an agent that exits or answers something else at hello).
  static std::shared_ptr<connection> start_child(const child_agent_options& opts,
                                                 event_handler on_event);
  /// Starts the channel's command (frames on its stdin/stdout) and says hello; throws
  /// agent_error with one sentence, as start_child (which is this with `BINARY agent --stdio`).
  static std::shared_ptr<connection> start_stdio(const stdio_channel& ch, event_handler on_event);
  /// Connects to a listening agent and says hello with its token; throws agent_error with one
  /// sentence (nothing listens, the stream ends before the hello: a container's agent that is
  /// not up yet; a refused token).
  static std::shared_ptr<connection> start_tcp(const tcp_agent_options& opts,
                                               event_handler on_event);
  /// Runs a host_agent on a thread of this process, over a socketpair.
  static std::shared_ptr<connection> start_in_process(event_handler on_event);

  /// close(), bounded.
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // -- requests ---------------------------------------------------------------

  /// Sends `op` and waits for its reply (at most `timeout`): the result, or agent_error with
  /// the agent's reason (or why there is no reply).
  nlohmann::json call(const std::string& op, nlohmann::json args = nlohmann::json::object(),
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// Ends the stream (the agent then stops its nodes and relays) and waits up to `wait` for
  /// the agent to finish; a child still running then is killed. Idempotent; never throws.
  void close(std::chrono::milliseconds wait = std::chrono::seconds(30)) noexcept;

  // -- observation ------------------------------------------------------------

  /// The agent's PID (this process's own when in-process).
  pid_t agent_pid() const noexcept { return agent_pid_; }
  bool in_process() const noexcept { return in_process_; }
  /// "the agent (pid N)", for messages.
  std::string describe() const;
  /// Why the connection is gone ("" while it is up).
  std::string broken() const;
  /// What the agent sent so far: {"frames", "bytes", "by_kind": {"reply": bytes,
  /// "event:summary": bytes, ...}} (frame headers included): how much a host costs the
  /// orchestrator (docs/live.md, "What the agent sends").
  nlohmann::json traffic() const;

private:
  struct pending {
    bool done = false;
    bool ok = false;
    nlohmann::json result;
    std::string error;
  };

  explicit connection(event_handler on_event);
  void read_loop();
  void count_frame(const nlohmann::json& msg, const std::string& type, size_t bytes);
  void fail_all(const std::string& why);
  void hello(std::chrono::milliseconds timeout);
  void spawn_child(const stdio_channel& ch); // on the reader thread
  /// Reaps the child agent once, without blocking; true (and its status) once it has ended.
  bool try_reap(int* status);

  event_handler on_event_;
  int fd_ = -1; ///< our end of the stream
  pid_t agent_pid_ = -1;
  bool in_process_ = false;
  bool tcp_ = false;
  std::string token_; ///< sent in the hello (listening agents)
  std::string what_ = "the agent";
  std::filesystem::path pid_path_;
  std::filesystem::path log_path_;
  std::unique_ptr<host_agent> local_agent_;
  std::thread agent_thread_; ///< in-process: runs local_agent_->serve
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<uint64_t, std::shared_ptr<pending>> pending_;
  uint64_t frames_in_ = 0; ///< guarded by mutex_, as the next two
  uint64_t bytes_in_ = 0;
  std::map<std::string, uint64_t> bytes_by_kind_;
  uint64_t next_id_ = 1;
  bool hello_seen_ = false;
  std::string broken_;
  std::mutex write_mutex_;
  bool closed_ = false;
  std::mutex reap_mutex_;
  bool reaped_ = false;
  int exit_status_ = 0;
};

} // namespace troupe::backends::agent
