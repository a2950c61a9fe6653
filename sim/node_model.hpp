#pragma once
// The contract between the simulated world and a node model (the built-in `chain` model or a
// user-written one). A model is an actor in the full sense: own state, own mailbox (its
// queue of deliveries in the kernel), handlers below, no shared mutable state. It is driven
// by the deterministic kernel on virtual time, never by threads or the wall clock.
//
// Node-to-node traffic takes this light path instead of CAF messages (measured: see
// benchmarks/README section of bench_kernel); CAF actors (runner, workloads, expectations)
// reach a model through the node protocol via the sim backend, which calls `status`,
// `submit` and `control` on the kernel's thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/node_types.hpp"
#include "actors/random.hpp"

namespace troupe::sim {

using node_index = uint32_t;
using duration = std::chrono::nanoseconds;

/// What travels on the simulated network. Copied per delivery, so keep it small: big
/// payloads live behind `body`, shared and immutable once sent.
struct message {
  uint32_t kind = 0;                ///< model-defined kind (also folded into the digest)
  uint32_t bytes = 0;               ///< wire size: drives bandwidth / serialisation delay
  uint64_t payload_hash = 0;        ///< stable hash of the content, folded into the trace digest
  uint64_t a = 0, b = 0;            ///< small inline payload (e.g. a hop count, a height)
  std::shared_ptr<const void> body; ///< model-defined payload, never mutated after send
};

/// Persistent state of a node: survives crash and restart (volatile state does not).
/// A model keeps what a real node would keep on disk here.
struct persistent_state {
  virtual ~persistent_state() = default;
};

/// Given to a model on every callback. Valid only during that callback.
class node_context {
public:
  virtual ~node_context() = default;

  // -- identity and time ------------------------------------------------------

  virtual node_index self() const noexcept = 0;
  virtual const std::string& id() const noexcept = 0; ///< stable id, e.g. "validator-3"
  /// Virtual time since the run started, as this node's (possibly skewed) clock shows it.
  virtual duration local_now() const noexcept = 0;
  /// True virtual time since the run started (for events reported to observers).
  virtual duration true_now() const noexcept = 0;

  // -- communication ----------------------------------------------------------

  /// Send through the simulated network (latency, loss, bandwidth, partitions apply).
  virtual void send(node_index to, message m) = 0;
  /// This node's peers in the topology (stable order).
  virtual const std::vector<node_index>& peers() const noexcept = 0;

  // -- timers -----------------------------------------------------------------

  /// Calls `on_timer(tag)` after `delay` of virtual time (as measured by this node's clock).
  /// Timers die with the node on crash.
  virtual void set_timer(duration delay, uint64_t tag) = 0;

  // -- randomness and state ---------------------------------------------------

  /// This node's seeded stream: derived from (run seed, node id); restart does not reset it.
  virtual troupe::rng& rng() noexcept = 0;
  /// A fresh stream for `name` under the run's seed, as `rng()` is for this node's id: a
  /// twin (a Byzantine node holding another node's identity) draws that node's lottery key.
  virtual troupe::rng stream_of(const std::string& name) const noexcept = 0;
  /// The node's persistent state slot (nullptr until the model sets it).
  virtual std::shared_ptr<persistent_state>& persistent() noexcept = 0;

  // -- observation ------------------------------------------------------------

  /// Report a block added or finalized; the world forwards it to subscribers.
  virtual void emit(const block_event& ev) = 0;
  /// The same, for an event the model no longer needs: a context may pass it on without
  /// copying its strings.
  virtual void emit(block_event&& ev) { emit(static_cast<const block_event&>(ev)); }
  /// Count a model-level event (e.g. "forks", "reorgs") into the run's counters.
  virtual void count(const char* counter, uint64_t n = 1) = 0;
  /// Whether anyone receives this node's `emit`s: when false a model may skip building
  /// block events (they carry strings). A context that cannot tell says true.
  virtual bool observed() const noexcept { return true; }
  /// Whether anyone receives this node's `emit`s of kind `k` (subscribers may want only
  /// finalized events). A context that cannot tell says `observed()`.
  virtual bool observes(block_event::kind_t k) const noexcept {
    (void) k;
    return observed();
  }
};

/// A simulated node. All calls come from the kernel, one at a time, in a deterministic order.
class node_model {
public:
  virtual ~node_model() = default;

  /// Called when the node starts and again after every restart (volatile state is fresh,
  /// `ctx.persistent()` still holds what it held).
  virtual void on_start(node_context& ctx) = 0;
  virtual void on_message(node_context& ctx, node_index from, const message& m) = 0;
  virtual void on_timer(node_context& ctx, uint64_t tag) = 0;
  /// Stream links only (link_options::transport): a cut (partition, isolation) broke the
  /// connection to `peer` (`up` false; what was in flight on it is lost), or a heal made it
  /// again (`up` true: a real node would reconnect and say where its chain is). Told to each
  /// end that is up. Default: nothing.
  virtual void on_link(node_context& ctx, node_index peer, bool up) {
    (void) ctx;
    (void) peer;
    (void) up;
  }

  // -- node protocol (synchronous, on the kernel's thread) --------------------

  /// Status; `up`, `id` and `peers` are filled by the world.
  virtual node_status status() const = 0;
  virtual tx_ack submit(node_context& ctx, const transaction& tx) = 0;

  /// Turns the node Byzantine (the `byzantine` workload, see actors/node_types.hpp). A model
  /// without such behaviours refuses, saying so.
  virtual control_ack byzantine(node_context& ctx, const byzantine_cmd& cmd) {
    (void) ctx;
    return {false, "this node model has no Byzantine behaviours (\"" + cmd.behaviour +
                     "\" asked); the built-in chain model has them"};
  }
};

/// Builds a node's model; called at start and at each restart.
using model_factory = std::function<std::unique_ptr<node_model>()>;

} // namespace troupe::sim
