#pragma once
// Hosts from a provisioner, with a time-to-live: the ssh backend's
// "provisioner": {"create": CMD, "destroy": CMD, "ttl": "2h"} instead of "hosts".
//
// `create` runs as `/bin/sh -c 'CMD "$@"' troupe-provision COUNT [LABEL...]` with the
// environment TROUPE_PROVISION=create, TROUPE_HOST_COUNT, TROUPE_HOST_LABELS (comma-separated),
// TROUPE_RUN_ID, TROUPE_RUN_DIR, TROUPE_PROVISIONER_DIR (RUN_DIR/provisioner, the
// provisioner's own files), TROUPE_TTL_SECONDS and TROUPE_EXPIRES_AT (Unix seconds), and
// prints the hosts as an inventory document (inventory.hpp) on stdout. Troupe writes that
// document to RUN_DIR/provisioned-hosts.json and the record RUN_DIR/provisioned.json (the
// destroy command, the expiry, troupe's PID) before it uses a host. `destroy` runs as
// `/bin/sh -c 'CMD "$@"' troupe-provision HOSTS_FILE` with TROUPE_PROVISION=destroy,
// TROUPE_HOSTS_FILE and the same run variables, on every exit path of the run; `troupe fleet
// gc` runs it for the records an orchestrator that died left behind. The time-to-live also
// holds on each host: its agent stops the nodes and exits at the expiry (`--expires-at`).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "actors/params.hpp"
#include "backends/ssh/inventory.hpp"

namespace troupe::backends::ssh {

struct provisioner_options {
  std::string create, destroy;
  duration ttl = std::chrono::hours(2);
  size_t count = 0; ///< hosts to create (0: one per node)
  std::vector<std::string> labels;
  std::chrono::milliseconds timeout{600000}; ///< for each of create and destroy
};

/// Reads the "provisioner" section (the caller finishes it).
provisioner_options read_provisioner(params_reader& r);

/// The hosts one run provisioned: created by create(), destroyed by destroy() or the
/// destructor, whatever happens in between.
class provisioned_hosts {
public:
  provisioned_hosts(provisioner_options o, std::filesystem::path run_dir);
  ~provisioned_hosts() { destroy(); }
  provisioned_hosts(const provisioned_hosts&) = delete;
  provisioned_hosts& operator=(const provisioned_hosts&) = delete;

  /// Runs `create` for `count` hosts (the option's, when set), records them, and returns them
  /// as an inventory (host keys accepted on first sight, recorded in the run's known_hosts,
  /// unless the document says otherwise). Throws user_error (exit 2) with one sentence.
  inventory create(size_t count);
  /// Runs `destroy` once (later calls do nothing); never throws: a failure is logged and the
  /// record stays for `troupe fleet gc`. Returns "" or why it failed.
  std::string destroy() noexcept;

  /// When the hosts' time-to-live ends (Unix seconds; 0 before create()).
  int64_t expires_at() const { return expires_at_; }
  const provisioner_options& options() const { return o_; }

private:
  provisioner_options o_;
  std::filesystem::path run_dir_;
  int64_t expires_at_ = 0;
  bool created_ = false;
  std::mutex mutex_;
};

/// `troupe fleet gc`: every provisioned.json under `root` (a run directory, or a directory of
/// them, two levels deep) whose hosts were not destroyed and whose orchestrator is gone or
/// whose time-to-live passed: destroyed (unless `dry_run`). One line per record found.
std::vector<std::string> collect_fleet_garbage(const std::filesystem::path& root, bool dry_run);

} // namespace troupe::backends::ssh
