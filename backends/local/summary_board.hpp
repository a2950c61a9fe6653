#pragma once
// What the agent's summaries said of each node (backend param "poll": "agent"): the
// connection's reader thread posts every `summary` event here, and the node's proxy takes
// them, in order, instead of calling the node itself (docs/agent-protocol.md, "Summaries").

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe::backends::local {

class summary_board {
public:
  /// Summaries kept per node until its proxy takes them (beyond: the oldest are dropped, so a
  /// stalled proxy cannot make troupe grow without bound).
  static constexpr size_t pending_max = 10000;

  /// One `summary` event from the agent (its "slot" names the node).
  void post(const nlohmann::json& summary);
  /// Every summary of `slot` posted since the last take, oldest first.
  std::vector<nlohmann::json> take(size_t slot);
  /// Summaries dropped because a proxy did not take them in time.
  size_t dropped() const;

private:
  mutable std::mutex mutex_;
  std::map<size_t, std::deque<nlohmann::json>> pending_;
  size_t dropped_ = 0;
};

} // namespace troupe::backends::local
