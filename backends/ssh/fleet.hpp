#pragma once
// The hosts of one run, reached: one multiplexed ssh master per host (opened `parallel` at a
// time, with retries), troupe copied to each once (bootstrap.hpp), and on each an agent
// (`troupe agent --stdio` over the master: backends/agent/channel.hpp, the same connection
// the local backend uses for its child agent). A host that fails keeps its one sentence; with
// fewer than hosts_min usable hosts (every host, by default) connect() throws them all.
//
// On the host, RUN = REMOTE_DIR/runs/<run directory's name>/<host name>: the agent's log and
// PID file (RUN/agent.log, RUN/agent.pid) and everything the run's nodes write. (The host's
// name in the path keeps apart hosts that share a file system: the test fleet on loopback.)

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/agent/connection.hpp"
#include "backends/agent/for_each_bounded.hpp"
#include "backends/ssh/inventory.hpp"
#include "backends/ssh/ssh_master.hpp"

namespace troupe::backends::ssh {

struct fleet_options {
  std::filesystem::path run_dir;          ///< troupe's run directory (RUN_DIR/ssh/...)
  std::string remote_dir = "/tmp/troupe"; ///< on each host: bin/<sha256>/, runs/<run>/
  size_t parallel = 32;                   ///< hosts connected and bootstrapped at once
  size_t hosts_min = 0;                   ///< usable hosts needed (0: every host)
  std::string host_keys;                  ///< "" = the inventory's
  std::chrono::milliseconds connect_timeout{10000};
  int attempts = 3;
  std::string troupe_binary; ///< the troupe to copy (its agent runs on every host)
  /// Unix seconds; above 0: each agent stops its nodes and exits then (`--expires-at`), even
  /// if nobody tells it to (provisioned hosts' time-to-live).
  int64_t expires_at = 0;
};

struct fleet_host {
  ssh_host host;
  std::unique_ptr<ssh_master> master;
  std::string troupe_path; ///< on the host
  bool copied = false;     ///< troupe was sent (false: the host had this build)
  std::string error;       ///< why the host is not used ("" when it is)
  std::shared_ptr<agent::connection> agent;
};

class fleet {
public:
  fleet(inventory inv, fleet_options o);
  ~fleet();
  fleet(const fleet&) = delete;
  fleet& operator=(const fleet&) = delete;

  /// Opens a master to every host and copies troupe there; throws user_error (exit 2) with
  /// every failed host's sentence, one a line, when fewer than hosts_min hosts are usable.
  void connect();
  /// Starts the agent on every usable host; `on_event(host index)` gives each connection its
  /// event handler. A host whose agent does not start counts as failed (as in connect()).
  void start_agents(const std::function<agent::connection::event_handler(size_t)>& on_event = {});
  /// Ends the agents (each reads EOF and stops its nodes) and then the masters. Idempotent.
  void close() noexcept;

  std::vector<fleet_host>& hosts() { return hosts_; }
  const std::vector<fleet_host>& hosts() const { return hosts_; }
  size_t usable() const;
  /// RUN on host `i` (see above).
  std::string remote_run_dir(size_t i) const;
  const fleet_options& options() const { return o_; }

private:
  void connect_one(fleet_host& h, size_t index);
  void start_agent(size_t i, const agent::connection::event_handler& on_event);
  /// Throws when too few hosts are usable.
  void check_enough(const char* stage) const;

  inventory inv_;
  fleet_options o_;
  ssh_settings settings_;
  std::string troupe_sha_;
  std::vector<fleet_host> hosts_;
  std::filesystem::path control_dir_;
  bool control_dir_is_tmp_ = false;
};

} // namespace troupe::backends::ssh
