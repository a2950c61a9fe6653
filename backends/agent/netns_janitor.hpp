#pragma once
// Network namespaces are kernel objects: they outlive the process that made them, and the
// in-process agent dies with troupe. So before the first namespace of a run is made, this
// janitor (janitor.hpp) starts; whenever troupe ends, however it ends, it deletes the run's
// namespaces (their veths and nftables tables go with them). A normal teardown removes them
// itself first; the janitor then finds nothing left to delete.

#include <string>
#include <vector>

#include "backends/agent/janitor.hpp"

namespace troupe::backends::agent {

class netns_janitor : public janitor {
public:
  /// Starts the janitor for namespaces `names`. Throws std::runtime_error when it cannot
  /// (no `ip` command, no /bin/sh, spawn failed).
  explicit netns_janitor(const std::vector<std::string>& names);
};

} // namespace troupe::backends::agent
