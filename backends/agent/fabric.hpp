#pragma once
// The link fabric: how live runs shape real traffic. Every directed topology link `from ->
// to` gets a relay listening on 127.0.0.1:<port>; node `from` is told to dial that port
// instead of `to`'s own, and the relay forwards each connection to `to`'s real address.
// A connection on relay `a -> b` carries bytes both ways: those `a` sends travel link
// (a, b), those `b` sends back travel link (b, a). Each directed link has:
//
//   shape   added latency plus uniform jitter in [0, jitter] per chunk (as the simulator
//           draws it), FIFO per direction: a chunk never overtakes the one before it;
//           bandwidth by a token bucket (GCRA, 16 KiB burst)
//   open    bytes flow, shaped
//   cut     bytes are read and dropped (counted). When both directions between two nodes
//           are cut (a two-way cut: partition, isolate), their connections are closed and
//           new ones closed at once, so nothing crosses. A one-way cut keeps connections
//           open: one direction flows, the other is dropped; at its heal, connections that
//           lost bytes are closed (their byte stream has a hole no program could resume),
//           so the programs reconnect cleanly
//   clogged bytes are read and held (in order) until the heal, then delivered at once;
//           beyond `queued_bytes_max` per direction of a connection the relay stops reading
//           and TCP's flow control holds the rest at the sender. Nothing is lost.
//
// One thread runs an epoll loop over non-blocking sockets (no thread per connection); a
// timerfd wakes it for the next due chunk. Faults are applied by that thread; each call
// returns once applied, so an acknowledgement means the fault is in effect.
//
// The fabric knows nothing of backends or node programs: the local backend owns one today,
// the agent (`troupe agent`) on each host will own one later.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe::backends::agent {

/// How a directed link shapes the bytes crossing it.
struct link_shape {
  int64_t latency_ns = 0;    ///< added one-way delay
  int64_t jitter_ns = 0;     ///< plus uniform [0, jitter] per chunk
  int64_t bandwidth_bps = 0; ///< bits per second; 0 = unlimited
};

enum class link_mode : uint8_t { open, cut, clogged };

const char* to_string(link_mode m) noexcept;

/// Upper bounds (ms) of the added-delay histogram's buckets; the last bucket is unbounded.
constexpr std::array<double, 13> delay_buckets_ms{0.1, 1,   2,   5,    10,   20,  50,
                                                  100, 200, 500, 1000, 2000, 5000};

/// What one directed link did so far.
struct link_stats {
  std::string from, to;
  link_shape shape;
  link_mode mode = link_mode::open;
  uint64_t bytes_relayed = 0;       ///< written to the receiver
  uint64_t bytes_dropped = 0;       ///< discarded by a cut (one-way, or queued when one closed)
  uint64_t bytes_lost = 0;          ///< queued when a connection ended without a fault
  uint64_t bytes_held = 0;          ///< held by a clog right now
  uint64_t bytes_held_total = 0;    ///< ever held by a clog
  uint64_t chunks = 0;              ///< delivered chunks (one read each)
  uint64_t connections = 0;         ///< relayed connections `from` dialled to `to`
  uint64_t connections_refused = 0; ///< closed at once: cut both ways, or `to` not listening
  uint64_t connections_cut = 0;     ///< open connections closed by a cut or a heal
  std::array<uint64_t, delay_buckets_ms.size() + 1> delay_counts{}; ///< per chunk
  double delay_ms_sum = 0;
  double delay_ms_max = 0;
};

struct fabric_options {
  uint64_t seed = 1;                    ///< jitter draws
  uint64_t queued_bytes_max = 4u << 20; ///< per direction of a connection
  size_t chunk_bytes_max = 64u << 10;   ///< one read
  uint64_t burst_bytes = 16u << 10;     ///< token bucket depth
  size_t connections_max = 4096;        ///< beyond: new connections closed at once
};

/// One change of one directed link (`fabric::apply` takes several at once, atomically).
struct link_change {
  /// heal opens the link (ends a cut or a clog); unclog ends a clog only (a clog that runs
  /// out must not lift a cut made after it).
  enum kind_t : uint8_t { shape, cut, clog, heal, unclog } kind = heal;
  std::string from, to;
  link_shape new_shape; ///< kind == shape
};

/// The report.json section of a fabric: {"definition", "relays", "links": [...], "totals"}.
nlohmann::json stats_json(const std::vector<link_stats>& links, size_t relays);

class fabric {
public:
  // -- constructors -----------------------------------------------------------

  explicit fabric(fabric_options o = {});
  ~fabric();
  fabric(const fabric&) = delete;
  fabric& operator=(const fabric&) = delete;

  // -- setup ------------------------------------------------------------------

  /// Adds the relay for `from` dialling `to`, which listens on `target_addr`:`target_port`.
  /// Returns the relay's own port on `listen_addr` (any free one when `listen_port` is 0).
  /// Addresses are IPv4 in host byte order, 127.0.0.1 unless given (a node in a network
  /// namespace reaches relays on the root end of its veth, and is reached on its own end).
  /// Throws std::runtime_error naming the port and the cause when it cannot listen.
  uint16_t add_relay(const std::string& from, const std::string& to, uint16_t target_port,
                     uint16_t listen_port = 0, uint32_t listen_addr = loopback,
                     uint32_t target_addr = loopback);

  static constexpr uint32_t loopback = 0x7f000001; ///< 127.0.0.1

  /// Points every relay to node `to` at `target_addr` from now on (the node's host was
  /// replaced: a Kubernetes pod that came back with a new address); connections already
  /// relayed keep theirs. Returns how many relays changed.
  size_t retarget(const std::string& to, uint32_t target_addr);

  /// Starts the event loop thread; relays accept from then on.
  void start();
  /// Closes every relay and connection and joins the thread; idempotent; never throws.
  void stop() noexcept;

  // -- faults (thread-safe; each returns once applied) ----------------------------

  /// Applies every change in one step of the loop: no byte moves between two of them.
  /// Changes naming a link without a relay either way are ignored (nothing crosses it).
  void apply(const std::vector<link_change>& changes);
  /// Opens every link (heals every cut and clog); shapes stay.
  void heal_all();

  // -- observation ------------------------------------------------------------------

  /// Every directed link that has a relay in either direction, sorted by (from, to).
  std::vector<link_stats> stats() const;
  /// stats() for report.json: {"definition", "relays", "links": [...], "totals": {...}}.
  nlohmann::json stats_json() const;
  size_t relay_count() const;
  /// Connections open right now (both ends connected or connecting).
  size_t open_connections() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::backends::agent
