#pragma once
// Kernel objects and daemon state (network namespaces, containers) outlive the process that
// made them. When troupe is killed (kill -9, an OOM kill) nothing of it runs to remove them. So
// before the first of them is made, a janitor starts: a small shell in its own session that
// blocks reading a pipe whose only writer is this process (close-on-exec, so no node inherits
// it). Whenever this process ends, however it ends, the kernel closes the pipe; the janitor
// sees end-of-file, runs its cleanup and exits. A normal teardown removes everything itself
// first; the janitor then finds nothing left. netns_janitor.hpp and the compose backend's
// stack janitor are the two cleanups.

#include <sys/types.h>

#include <string>
#include <vector>

namespace troupe::backends::agent {

class janitor {
public:
  // -- constructors -----------------------------------------------------------

  /// Starts `/bin/sh -c SCRIPT NAME ARGS...`; SCRIPT begins by reading stdin to its end (the
  /// pipe), e.g. "while read -r _; do :; done; ...". `what` names it in errors. Throws
  /// std::runtime_error when it cannot be spawned.
  janitor(const std::string& script, const std::string& name, const std::vector<std::string>& args,
          const std::string& what);
  /// Closes the pipe: the janitor cleans up and exits; waits for it (bounded by `wait_s`
  /// seconds: it is left to finish on its own after that).
  ~janitor();
  janitor(const janitor&) = delete;
  janitor& operator=(const janitor&) = delete;

  // -- properties -------------------------------------------------------------

  pid_t pid() const { return pid_; }
  /// How long the destructor waits for the cleanup (seconds).
  void set_exit_wait(int seconds) { wait_s_ = seconds; }

private:
  pid_t pid_ = -1;
  int pipe_write_ = -1;
  int wait_s_ = 5;
};

} // namespace troupe::backends::agent
