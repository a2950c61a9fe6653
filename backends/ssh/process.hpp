#pragma once
// Running one short local command (ssh, for a check or an upload) to its end: argv run by
// path, stdin from a file or /dev/null, stdout and stderr captured apart, killed (by its PID,
// with its process group) after a timeout. For the long-lived ssh processes (the master, an
// agent's session) see ssh_master.hpp and backends/agent/channel.hpp.

#include <chrono>
#include <string>
#include <vector>

namespace troupe::backends::ssh {

struct process_result {
  int code = -1; ///< exit code; -1 when killed or not started
  bool timed_out = false;
  std::string out, err; ///< stdout, stderr (each capped at 1 MiB)
};

process_result run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                           const std::string& stdin_file = {});

} // namespace troupe::backends::ssh
