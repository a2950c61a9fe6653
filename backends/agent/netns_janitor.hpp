#pragma once
// Network namespaces are kernel objects: they outlive the process that made them. When troupe
// is killed (kill -9, an OOM kill) nothing of it runs to remove them, and the in-process agent
// dies with it. So before the first namespace of a run is made, a janitor starts: a small shell
// in its own session that blocks reading a pipe whose only writer is this process (close-on-exec,
// so no node inherits it). Whenever this process ends, however it ends, the kernel closes the
// pipe; the janitor sees end-of-file, deletes the run's namespaces (their veths and nftables
// tables go with them) and exits. A normal teardown removes them itself first; the janitor then
// finds nothing left to delete.

#include <sys/types.h>

#include <string>
#include <vector>

namespace troupe::backends::agent {

class netns_janitor {
public:
  // -- constructors -----------------------------------------------------------

  /// Starts the janitor for namespaces `names`. Throws std::runtime_error when it cannot
  /// (no `ip` command, no /bin/sh, spawn failed).
  explicit netns_janitor(const std::vector<std::string>& names);
  /// Closes the pipe: the janitor deletes what remains of `names` and exits; waits for it
  /// (bounded: it is left to finish on its own after a few seconds).
  ~netns_janitor();
  netns_janitor(const netns_janitor&) = delete;
  netns_janitor& operator=(const netns_janitor&) = delete;

  // -- properties -------------------------------------------------------------

  pid_t pid() const { return pid_; }

private:
  pid_t pid_ = -1;
  int pipe_write_ = -1;
};

} // namespace troupe::backends::agent
