#pragma once
// The simulated world: nodes (model actors on the light path), the network between them,
// faults, and the trace. Everything runs on the kernel's thread, driven by its events, so a
// run is a pure function of (scenario, seed).
//
// A node is an index into flat vectors (id, model, state bits, rng, peers): a million idle
// nodes fit in a few hundred MB. CAF actors (runner, workloads, expectations) reach nodes
// through `status`, `submit`, `control` and the fault calls, on the same thread (they run in
// the kernel's loop, between timed events).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/node_types.hpp"
#include "actors/random.hpp"
#include "sim/clock_skew.hpp"
#include "sim/faults.hpp"
#include "sim/kernel.hpp"
#include "sim/network.hpp"
#include "sim/node_model.hpp"
#include "sim/trace.hpp"

namespace troupe::sim {

class world final : private event_target {
public:
  // -- member types -----------------------------------------------------------

  struct options {
    uint64_t seed = 1;
    link_options default_link;
    size_t recent_events_max = 1024;
    std::string events_path;                 ///< empty: no events.jsonl
    uint64_t events_bytes_max = 64ull << 20; ///< events.jsonl size cap
    trace_request trace;                     ///< window/checkpoints for compare_runs
  };

  // -- constructors -----------------------------------------------------------

  world(sim::kernel& k, options opts);
  ~world();
  world(const world&) = delete;
  world& operator=(const world&) = delete;

  // -- topology ---------------------------------------------------------------

  /// Adds a node; it starts with `start()` (or at once if the world already started).
  node_index add_node(std::string id, model_factory factory);

  /// Makes `a` and `b` peers (both directions). Peers are kept in insertion order.
  void connect(node_index a, node_index b);

  /// Overrides the link `from -> to`.
  void set_link(node_index from, node_index to, const link_options& x);

  /// Starts every node not yet started, in index order.
  void start();

  // -- faults -----------------------------------------------------------------

  /// The node dies: volatile state, timers, held and in-flight deliveries to it are lost.
  void crash(node_index i);
  /// A fresh model from the factory; persistent state kept. Crashes first if up.
  void restart(node_index i);
  /// Deliveries and timers are held (not lost) until `resume`.
  void pause(node_index i);
  void resume(node_index i);
  void partition(const std::vector<node_index>& a, const std::vector<node_index>& b,
                 bool symmetric = true);
  void isolate(node_index i);
  void heal(node_index i);
  void heal_all();
  /// Holds all traffic from and to `i` for `d` (messages wait, none are lost).
  void clog(node_index i, duration d);
  void clog_link(node_index a, node_index b, duration d);
  /// How node `i` sees time from now on: `offset` and `drift_ppm` relative to true time.
  void set_clock(node_index i, duration offset, double drift_ppm);

  // -- node protocol (from CAF actors, on the kernel's thread) ----------------

  node_status status(node_index i) const;
  tx_ack submit(node_index i, const transaction& tx);
  /// stop/kill = crash, start = restart if down, restart, pause, resume, isolate, heal.
  control_ack control(node_index i, control_action a);
  /// Turns node `i` Byzantine (its model decides how, or refuses); folded into the trace.
  control_ack byzantine(node_index i, const byzantine_cmd& cmd);
  bool up(node_index i) const { return (nodes_[i].flags & flag_up) != 0; }
  bool paused(node_index i) const { return (nodes_[i].flags & flag_paused) != 0; }
  std::optional<node_index> find(const std::string& id) const;
  const std::string& id(node_index i) const { return ids_[i]; }
  size_t size() const noexcept { return ids_.size(); }
  const std::vector<node_index>& peers(node_index i) const { return peers_[i]; }

  /// The model of a running node (nullptr while crashed); for tests and inspection.
  node_model* model(node_index i) const { return nodes_[i].model.get(); }

  // -- observers --------------------------------------------------------------

  /// Called for each ctx.emit, in emission order.
  void on_block(std::function<void(const block_event&)> f);
  /// Like on_block, but the observer may keep the event without copying it (it gets an
  /// rvalue when the model emitted one and it is the last such observer). Called after
  /// every `on_block` observer. For the sim backend, which moves the event into the one
  /// CAF message its subscribers share (a copy of every transaction id otherwise).
  void on_block_take(std::function<void(block_event&&)> f);

  /// Narrows block events to the nodes someone watches: once this is called, a node's
  /// `emit`s reach the `on_block` observers only while it is set on (models skip building
  /// events for the others, see `node_context::observed`). Until then every node is
  /// observed whenever an observer exists.
  void set_observed(node_index i, bool on);
  /// As set_observed, per event kind: bit `1 << block_event::kind_t` set for each kind
  /// someone watches (0: none). Models skip building the other kinds' events
  /// (`node_context::observes`).
  void set_observed_kinds(node_index i, uint8_t kinds);

  /// Whether node `i`'s block events reach anyone (an observer exists and the node is not
  /// filtered out by `set_observed`).
  bool observed(node_index i) const noexcept { return observed_kinds(i) != 0; }
  /// Whether node `i`'s block events of kind `k` reach anyone.
  bool observes(node_index i, block_event::kind_t k) const noexcept {
    return (observed_kinds(i) >> k) & 1u;
  }

  // -- results ----------------------------------------------------------------

  uint64_t digest() const noexcept { return trace_.digest(); }
  /// Network counters and model counters (ctx.count), by name.
  std::map<std::string, uint64_t> counters() const;
  const sim::trace& events() const noexcept { return trace_; }
  sim::trace& events() noexcept { return trace_; }
  world_trace trace_result() const { return trace_.result(); }
  sim::kernel& kernel() noexcept { return kernel_; }
  const network& net() const noexcept { return net_; }

private:
  class context;
  friend class context;

  // -- implementation ---------------------------------------------------------

  enum : uint8_t { flag_up = 1, flag_paused = 2, flag_started = 4 };
  enum : uint32_t { code_deliver = 0, code_timer = 1 };

  struct alignas(64) flight {
    message m;
    node_index from = 0;
    node_index to = 0;
    uint32_t incarnation = 0;
  };

  struct held {
    bool timer;
    uint64_t value; ///< flight slot or timer tag
  };

  bool on_event(uint32_t code, uint32_t a, uint64_t b) override;
  void prefetch(uint32_t code, uint32_t a, uint64_t b) noexcept override;
  void prefetch_next(uint32_t code, uint32_t a, uint64_t b) noexcept override;
  void send(node_index from, node_index to, message&& m);
  void deliver(uint32_t slot);
  bool fire_timer(node_index i, uint32_t incarnation, uint64_t tag);
  void set_timer(node_index i, duration delay, uint64_t tag);
  void boot(node_index i);
  void drop_held(node_index i);
  void fold_fault(trace_kind k, node_index a, node_index b = no_node, uint64_t arg = 0);
  /// Applies a change of the cuts (partition, isolate, heal); on stream links the
  /// connections it breaks or makes again are told to both ends' models (node_model::on_link).
  template <class Change> void change_cuts(Change&& change);
  /// Per (node, peer position): 1 when the stream link to that peer is connected now.
  std::vector<uint8_t> stream_connections() const;
  void tell_stream_changes(const std::vector<uint8_t>& before);
  bool stream_cut(node_index from, node_index to) const {
    return has_stream_ && faults_.blocked(from, to) &&
           net_.link(from, to).transport == link_options::stream;
  }
  uint32_t take_flight();
  duration local_now(node_index i) const;
  void count(const char* name, uint64_t n);

  sim::kernel& kernel_;
  options opts_;
  network net_;
  faults faults_;
  sim::trace trace_;
  troupe::rng net_rng_;
  bool started_ = false;
  bool has_stream_ = false; ///< some link is a stream: cuts break connections (on_link)

  // Per node (index = node_index).
  std::vector<std::string> ids_;
  std::vector<model_factory> factories_;
  /// What a delivery touches, together: one cache line per node (48 bytes).
  struct node_state {
    troupe::rng rng;
    std::unique_ptr<node_model> model;
    uint32_t incarnation = 0;
    uint8_t flags = 0;
  };
  std::vector<node_state> nodes_;
  std::vector<std::shared_ptr<persistent_state>> persistent_;
  std::vector<std::vector<node_index>> peers_;
  std::vector<clock_skew> skew_;                      ///< sized lazily, on the first set_clock
  std::unordered_map<std::string, node_index> by_id_; // lookups only, never iterated
  std::map<node_index, std::vector<held>> held_;

  std::vector<flight> flights_;
  /// Free flight records, a list through their `to` (no vector to grow on the hot path).
  static constexpr uint32_t no_flight = ~uint32_t{0};
  uint32_t free_flight_ = no_flight;
  void free_flight(uint32_t slot) noexcept {
    flights_[slot].to = free_flight_;
    free_flight_ = slot;
  }
  uint8_t observed_kinds(node_index i) const noexcept {
    if (block_observers_.empty() && block_takers_.empty())
      return 0;
    if (!observe_filter_)
      return 0xFF;
    return i < observed_.size() ? observed_[i] : 0;
  }

  std::vector<std::function<void(const block_event&)>> block_observers_;
  std::vector<std::function<void(block_event&&)>> block_takers_;
  bool observe_filter_ = false;   ///< set_observed was called
  std::vector<uint8_t> observed_; ///< per node: kinds watched; sized on the first set_observed

  struct {
    uint64_t sent = 0;
    uint64_t delivered = 0;
    uint64_t bytes_delivered = 0;
    uint64_t dropped_loss = 0;
    uint64_t dropped_partition = 0;
    uint64_t dropped_crash = 0;
    uint64_t stream_breaks = 0; ///< stream connections a cut broke (each direction once)
    uint64_t retransmits = 0;   ///< losses on stream links, paid for with a resend
    uint64_t duplicated = 0;
    uint64_t timers_fired = 0;
  } stats_;
  std::map<std::string, uint64_t> model_counters_;
};

} // namespace troupe::sim
