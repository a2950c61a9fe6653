#pragma once
// The orchestrator's end of reverse tunnels (the agent's is reverse_tunnels.hpp): a few
// connections kept parked at one listening agent, each begun with a tunnel hello carrying its
// token. When the agent says {"type": "open", "to_port": P} on one (a command there dialled
// the port that stands for P), P must be a port allow()ed here: the pool dials 127.0.0.1:P
// on this machine, splices the two (splice.hpp) and parks a new connection in its place.
// A parked connection the agent closes is replaced; while the agent cannot be reached the
// pool tries again each second (the run notices a gone agent on its own connection).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/agent/thread_set.hpp"
#include "backends/agent/wake_pipe.hpp"

namespace troupe::backends::agent {

struct tunnel_pool_options {
  std::string address = "127.0.0.1"; ///< the agent's listening address, as the run reaches it
  uint16_t port = 0;
  std::string token;
  std::string what = "the agent"; ///< for messages
  size_t parked = 4;              ///< connections waiting at the agent
  size_t open_max = 64;           ///< tunnels spliced at once
  std::chrono::milliseconds hello_timeout{10000};
};

class tunnel_pool {
public:
  // -- constructors -----------------------------------------------------------

  explicit tunnel_pool(tunnel_pool_options o);
  /// close().
  ~tunnel_pool();
  tunnel_pool(const tunnel_pool&) = delete;
  tunnel_pool& operator=(const tunnel_pool&) = delete;

  // -- serving ----------------------------------------------------------------

  /// Lets tunnels reach 127.0.0.1:`port` here; the first call parks the connections (throws
  /// agent_error with one sentence: the agent cannot be reached, or refused the token).
  void allow(uint16_t port);
  /// Ends every parked connection and tunnel and joins their threads; idempotent.
  void close() noexcept;

  // -- observation ------------------------------------------------------------

  /// {"parked", "opened", "refused", "dial_failures"}: for report.json and tests.
  nlohmann::json stats() const;

private:
  /// A new parked connection: its fd (throws agent_error).
  int park_one() const;
  void manage();
  bool top_up(); ///< parks connections up to opts_.parked; false when one could not be
  void open_from(int fd);

  tunnel_pool_options opts_;
  mutable std::mutex mutex_;
  std::set<uint16_t> allowed_;
  std::vector<int> parked_; ///< only manage() changes it once it runs
  wake_pipe stop_;          ///< signalled by close(): every thread ends
  bool closed_ = false;
  std::thread manager_;
  thread_set tunnels_;
  uint64_t opened_ = 0;
  uint64_t refused_ = 0;
  uint64_t dial_failures_ = 0;
};

} // namespace troupe::backends::agent
