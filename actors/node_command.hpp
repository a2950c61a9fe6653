#pragma once
// A node-side command (the `commands` workload): asked of a node handle, run on the node's
// host with the node's placeholders ({id}, {data_dir}, {port.NAME}, {peers}, ...). Live
// backends answer through their agent; a world where nothing runs (sim) does not answer it,
// and the workload refuses such steps up front with the reason.
//
//   (run_command_atom, command_request) -> command_result

#include <cstdint>
#include <map>
#include <string>

#include <caf/all.hpp>

namespace troupe {

using run_command_atom = caf::atom_constant<caf::atom("runcmd")>;

struct command_request {
  std::string command; ///< a shell command line with {placeholders}
  int64_t timeout_ms = 60'000;
  uint32_t tail_lines = 20;
  std::map<std::string, std::string> env; ///< added to the command's environment
};

struct command_result {
  bool ran = false; ///< false: not run at all (`status` says why)
  int32_t exit_code = -1;
  bool timed_out = false;
  std::string status; ///< "exit 0", "killed after the 30000 ms timeout", or why it did not run
  std::string tail;   ///< its last output lines
  double seconds = 0;
  std::string command; ///< as run, placeholders expanded
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_request& x) {
  return f(caf::meta::type_name("command_request"), x.command, x.timeout_ms, x.tail_lines, x.env);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_result& x) {
  return f(caf::meta::type_name("command_result"), x.ran, x.exit_code, x.timed_out, x.status,
           x.tail, x.seconds, x.command);
}

} // namespace troupe
