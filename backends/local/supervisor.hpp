#pragma once
// Supervises the node processes of one local deployment: spawns them (each in its own
// process group, killed by the kernel if troupe itself dies), pumps their stdout/stderr into
// size-capped, rotated log files, reaps them, and signals them. One thread does all of it, so
// that forks come from a thread that outlives every child (PR_SET_PDEATHSIG is per thread)
// and 50 nodes cost one poll() loop, not 50 threads.
//
// Wall time is fine here: this is process supervision, outside every actor.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace troupe::backends::local {

/// How to run one node process.
struct process_options {
  std::string id;                                       ///< node id, for messages
  std::string binary;                                   ///< absolute path of the executable
  std::vector<std::string> args;                        ///< arguments after argv[0]
  std::vector<std::pair<std::string, std::string>> env; ///< added to troupe's environment
  std::filesystem::path cwd;                            ///< working directory (the node's data dir)
  std::filesystem::path log_path;                       ///< nodes/<id>.log
  std::filesystem::path pid_path;    ///< nodes/<id>.pid, present while the process lives
  uint64_t log_bytes_max = 8u << 20; ///< rotate the log when it reaches this size
  uint32_t log_files_max = 2;        ///< rotated files kept (<id>.log.1 .. .N)
};

enum class process_state { idle, running, paused, exited };

class supervisor {
public:
  using clock = std::chrono::steady_clock;

  // -- constructors -----------------------------------------------------------

  supervisor();
  /// Kills every child still alive (SIGKILL) and joins the thread.
  ~supervisor();
  supervisor(const supervisor&) = delete;
  supervisor& operator=(const supervisor&) = delete;

  // -- processes --------------------------------------------------------------

  /// Registers a process (not started); returns its slot.
  size_t add(process_options opts);
  /// Spawns (or respawns) the process of `slot`; throws std::runtime_error when fork or exec
  /// fails (the message names the binary and errno). No-op error when already running.
  void start(size_t slot);
  /// SIGTERM to the group (and SIGCONT, so that a paused node can act on it), then SIGKILL
  /// after `grace`. Returns false when the process did not die even after SIGKILL.
  bool stop(size_t slot, std::chrono::milliseconds grace);
  /// SIGKILL to the group and wait for the reap.
  bool kill(size_t slot);
  /// SIGSTOP / SIGCONT to the group.
  bool pause(size_t slot);
  bool resume(size_t slot);
  /// Stops every process at once: SIGTERM to all, one shared grace period, SIGKILL to the
  /// rest. Never throws.
  void stop_all(std::chrono::milliseconds grace) noexcept;

  // -- observation ------------------------------------------------------------

  process_state state(size_t slot) const;
  pid_t pid(size_t slot) const;
  /// PIDs of every process currently alive (tests check them after teardown).
  std::vector<pid_t> live_pids() const;
  /// Every PID this supervisor ever spawned.
  std::vector<pid_t> all_pids() const;
  /// The exit description of an exited process ("exit code 1", "signal 9").
  std::string exit_description(size_t slot) const;
  /// Waits until the process exits or `timeout` passes; true if exited.
  bool wait_exit(size_t slot, std::chrono::milliseconds timeout) const;
  /// Waits until everything the exited process wrote is in its log (bounded by `timeout`).
  void wait_log_drained(size_t slot, std::chrono::milliseconds timeout) const;
  /// The last `lines` lines of the node's log (current file, then the rotated one).
  std::string log_tail(size_t slot, size_t lines) const;
  /// At most the last `bytes` bytes of the node's log (the rotated file first when the current
  /// one is shorter), from a line start; bytes that are not UTF-8 become '?', so the text can
  /// travel in JSON.
  std::string log_tail_bytes(size_t slot, size_t bytes) const;
  const process_options& options(size_t slot) const;
  size_t size() const;

private:
  struct child;
  void loop();
  void wake();
  void spawn_on_thread(child& c); // runs on the supervisor thread
  void pump(child& c);            // reads the pipe into the log
  void write_log(child& c, const char* data, size_t n);
  void reap_locked();
  bool wait_state_locked(std::unique_lock<std::mutex>& lock, size_t slot,
                         clock::time_point deadline) const;
  void signal_group(size_t slot, int sig);

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<std::unique_ptr<child>> children_;
  std::deque<std::function<void()>> tasks_;
  std::vector<pid_t> spawned_;
  int wake_fds_[2] = {-1, -1};
  bool quit_ = false;
  std::thread thread_;
};

} // namespace troupe::backends::local
