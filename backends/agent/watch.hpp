#pragma once
// Watching nodes from beside them: the agent polls each watched node's adapter on its host
// and sends the orchestrator a `summary` event only when something it reports changed (up or
// down, height, tip, peers, mempool, and the blocks that are new on the node's best chain),
// so at hundreds of hosts the orchestrator receives summaries, not one RPC connection per
// node. docs/agent-protocol.md ("Summaries") documents every field.
//
// Threads: one thread polls every watch in turn (an adapter instance is not shared between
// threads, and each lives only here); add, remove and stats may be called from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "backends/adapters/adapter.hpp"
#include "backends/adapters/chain_follower.hpp"

namespace troupe::backends::agent {

/// What the `watch` op asks for one node.
struct watch_spec {
  size_t slot = 0;
  std::string id;         ///< the node's troupe id
  nlohmann::json adapter; ///< the node's rendered adapter settings
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{5000}; ///< of each adapter call
  uint64_t finality_depth = 0; ///< final_tip: the hash of the block this deep below the tip
};

/// One node's watch: its adapter (made on first use, again after a failure or a restart),
/// what it last reported and the recent best chain, to tell new blocks from old ones.
class node_watch {
public:
  /// Checks the adapter settings now (throws troupe::user_error with every problem).
  explicit node_watch(watch_spec s);

  /// Polls once: the summary's fields when anything changed since the last summary sent,
  /// else nothing. `running`: the node's process runs (else it is down without a call).
  std::optional<nlohmann::json> poll(bool running);

  const watch_spec& spec() const noexcept { return spec_; }
  uint64_t polls() const noexcept { return polls_; }
  uint64_t summaries() const noexcept { return summaries_; }

private:
  nlohmann::json new_blocks(const node_status& now, uint32_t* reorg, uint64_t* fork);
  std::string final_tip(const node_status& now);

  watch_spec spec_;
  adapters::adapter_ptr a_;
  std::optional<nlohmann::json> last_; ///< the compared fields of the last summary sent
  adapters::chain_follower chain_;     ///< the best chain as last seen
  std::string final_;                  ///< final_tip at the last tip
  std::atomic<uint64_t> polls_{0};     ///< read by stats() on another thread
  std::atomic<uint64_t> summaries_{0};
};

/// Every watch of one agent, polled on a thread of its own.
class watcher {
public:
  using send_fn = std::function<void(const nlohmann::json& summary)>;
  using running_fn = std::function<bool(size_t slot)>;

  watcher(send_fn send, running_fn running);
  /// stop().
  ~watcher();
  watcher(const watcher&) = delete;
  watcher& operator=(const watcher&) = delete;

  /// Watches `s.slot` (replacing a watch of the same slot); the first poll is at once and
  /// always sends a summary. Throws troupe::user_error for bad adapter settings.
  void add(watch_spec s);
  /// Stops watching `slot` (nothing when it was not watched).
  void remove(size_t slot);
  /// Stops every watch (the orchestrator went away; the thread stays for the next one).
  void clear();
  /// Per watch: slot, id, polls, summaries.
  nlohmann::json stats() const;
  /// Ends the polling thread (waits for the poll under way). Idempotent.
  void stop() noexcept;

private:
  struct entry {
    std::shared_ptr<node_watch> w;
    std::chrono::steady_clock::time_point due;
  };
  void loop();

  send_fn send_;
  running_fn running_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<size_t, entry> watches_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace troupe::backends::agent
