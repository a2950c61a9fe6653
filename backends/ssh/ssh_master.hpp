#pragma once
// One OpenSSH connection per host, multiplexed: a master `ssh -M -N` started as a child of
// troupe (parent-death signal, its own process group, ControlPersist=no: it dies with troupe
// and is never left behind), whose control socket in the run directory carries every later
// command, upload and agent session to that host without a new handshake.
//
// Host keys: a known_hosts per run (RUN/ssh/known_hosts). "strict" (inventory hosts, unless
// the inventory says otherwise) checks each host against the inventory's known_hosts (default
// ~/.ssh/known_hosts); "accept-new" (provisioned hosts) records a host's key the first time it
// is seen, in the run's file. Failures are one sentence naming the host and the fix.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "backends/ssh/inventory.hpp"
#include "backends/ssh/process.hpp"

namespace troupe::backends::ssh {

struct ssh_settings {
  std::filesystem::path state_dir;   ///< RUN/ssh: logs, known_hosts
  std::filesystem::path control_dir; ///< control sockets (short: sun_path holds 108 bytes)
  std::string host_keys = "strict";  ///< or "accept-new"
  std::string known_hosts;           ///< strict: the trusted file ("" = ~/.ssh/known_hosts)
  std::chrono::milliseconds connect_timeout{10000};
  int attempts = 3; ///< connection attempts per host (backoff 0.5 s, 1 s, 2 s, ...)
  std::string ssh_binary = "/usr/bin/ssh";
};

/// A host that cannot be used: one sentence naming it and the fix.
class host_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Where control sockets go for a run directory: RUN/ssh/cm when the socket paths fit in
/// sun_path (with the suffix ssh adds while it creates one), else a short directory under
/// /tmp named after the run (created; removed by the caller at teardown).
std::filesystem::path control_dir_for(const std::filesystem::path& run_dir, size_t hosts);

class ssh_master {
public:
  ssh_master(ssh_host host, const ssh_settings& s, size_t index);
  ~ssh_master();
  ssh_master(const ssh_master&) = delete;
  ssh_master& operator=(const ssh_master&) = delete;

  /// Starts the master and waits until its control socket answers; retries transient
  /// failures (refused or timed-out connections) with backoff. Throws host_error.
  void open();
  /// `ssh` through the master running `remote` (a shell command line on the host).
  std::vector<std::string> command(const std::string& remote) const;
  /// Runs `remote` on the host to its end (stdin from `stdin_file` when given).
  process_result run(const std::string& remote, std::chrono::milliseconds timeout,
                     const std::string& stdin_file = {}) const;
  /// A port on the host's loopback that reaches 127.0.0.1:`port` on this machine: a remote
  /// forward over the master (`ssh -O forward -R 0:127.0.0.1:PORT`; sshd picks the port and
  /// it lives as long as the master). Throws host_error with ssh's reason.
  uint16_t forward_here(uint16_t port) const;
  /// Ends the master (every session over it drops). Idempotent, never throws.
  void close() noexcept;

  const ssh_host& host() const { return host_; }
  pid_t master_pid() const { return pid_; }
  std::filesystem::path log_path() const;

private:
  std::vector<std::string> base_args() const; ///< ssh and the options every call shares
  /// Starts one master; "" once its socket answers, else the log's reason.
  std::string try_open();
  bool alive() const;
  std::string explain(const std::string& log) const; ///< one sentence from ssh's messages

  ssh_host host_;
  ssh_settings s_;
  std::filesystem::path socket_;
  pid_t pid_ = -1;
};

} // namespace troupe::backends::ssh
