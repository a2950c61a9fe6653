#pragma once
// The parent-death signal (PR_SET_PDEATHSIG) fires when the *thread* that forked a child
// ends, not only when the process does. The ssh masters are started from short-lived worker
// threads (32 hosts at a time), so they are forked here instead: on one thread that lives as
// long as troupe, so that a master gets its signal exactly when troupe dies.

#include <sys/types.h>

#include <functional>

namespace troupe::backends::ssh {

/// Runs `fork_child` (which forks and returns the child's PID, or -1) on the keeper thread and
/// returns what it returned.
pid_t fork_on_keeper(const std::function<pid_t()>& fork_child);

} // namespace troupe::backends::ssh
