#pragma once
// The run's trace: a 64-bit running digest over every delivered message and every fault or
// control event, a bounded ring of the most recent events, periodic digest checkpoints, an
// optional recorded window of events, and an optional size-capped events.jsonl.
//
// Naming the first diverging event of two runs (`compare_runs`) works in two passes: both
// runs record their first `window_events` events and a digest every `checkpoint_every`
// events; if the recorded prefixes agree, the first differing checkpoint bounds the window
// where the runs part, and both are run again recording exactly that window. Memory stays
// bounded (checkpoints are 8 bytes per `checkpoint_every` events), and the event named is the
// first one whose fields differ, not merely one of the last ones.

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "sim/kernel.hpp"

namespace troupe::sim {

using node_index = uint32_t;

/// No node (a fault that concerns the whole fabric, or the second end of a one-node event).
constexpr node_index no_node = ~node_index{0};

enum class trace_kind : uint8_t {
  deliver,
  drop_loss,
  drop_partition,
  drop_crash,
  duplicate,
  start,
  crash,
  restart,
  pause,
  resume,
  partition,
  isolate,
  heal,
  heal_all,
  clog,
  clog_link,
  set_clock,
  set_link,
  submit,
  external,     ///< an event outside the network (a job campaign's job change), run_trace
  byzantine,    ///< a node turned Byzantine (the `byzantine` workload)
  stream_break, ///< a cut broke the stream connection from -> to (its model was told)
  stream_up,    ///< the heal made that connection again
};

const char* to_string(trace_kind k) noexcept;

/// One folded event.
struct trace_event {
  uint64_t index = 0; ///< 0-based position in the run's trace
  duration at{0};     ///< true virtual time
  trace_kind type = trace_kind::deliver;
  node_index from = no_node;
  node_index to = no_node;
  uint32_t kind = 0;         ///< message kind (deliveries and drops), else 0
  uint64_t payload_hash = 0; ///< message payload hash, or a fault's parameter hash
  uint64_t digest = 0;       ///< running digest after folding this event

  /// Same event (all fields but the running digest).
  bool same_as(const trace_event& x) const noexcept {
    return at == x.at && type == x.type && from == x.from && to == x.to && kind == x.kind &&
           payload_hash == x.payload_hash;
  }
};

/// What `compare_runs` asks of a run.
struct trace_request {
  uint64_t record_from = 0;  ///< first event index to record in full
  uint64_t record_count = 0; ///< events to record from there
  uint64_t checkpoint_every = 1024;
};

/// What a run hands back for determinism checks.
struct world_trace {
  uint64_t digest = 0;
  uint64_t events = 0;
  uint64_t checkpoint_every = 0;
  std::vector<uint64_t> checkpoints; ///< [j] = digest after (j + 1) * checkpoint_every events
  uint64_t window_from = 0;
  std::vector<trace_event> window;      ///< events [window_from, window_from + window.size())
  std::vector<std::string> window_text; ///< one readable line per window event
};

struct divergence {
  bool diverged = false;
  uint64_t index = 0;        ///< trace index of the first differing event
  std::string first_event;   ///< that event as the first run saw it ("(none)" if it ended)
  std::string second_event;  ///< ... and as the second run saw it
  uint64_t first_digest = 0; ///< final digests of the two runs
  uint64_t second_digest = 0;
  std::string note; ///< how exact the answer is, when it is not
};

/// Runs a scenario (via `run`) twice or four times and names the first diverging event.
divergence compare_runs(const std::function<world_trace(const trace_request&)>& run,
                        uint64_t window_events = 4096, uint64_t checkpoint_every = 1024);

/// The trace recorder owned by a world.
class trace {
public:
  // -- member types -----------------------------------------------------------

  struct options {
    size_t recent_events_max = 1024;
    std::string events_path;                 ///< empty: no events.jsonl
    uint64_t events_bytes_max = 64ull << 20; ///< events.jsonl stops (marked) at this size
    trace_request request;                   ///< window and checkpoints to record
    uint64_t checkpoints_max = 1u << 20;     ///< beyond: checkpoints stop (noted)
  };

  using namer = std::function<std::string(node_index)>;

  // -- constructors -----------------------------------------------------------

  trace(options opts, namer names);
  ~trace();
  trace(const trace&) = delete;
  trace& operator=(const trace&) = delete;

  // -- recording --------------------------------------------------------------

  /// Folds one event. Hot path: a few multiplies and one ring store unless recording.
  void fold(duration at, trace_kind type, node_index from, node_index to, uint32_t kind,
            uint64_t payload_hash) {
    uint64_t h = static_cast<uint64_t>(at.count()) * 0x9E3779B97F4A7C15ULL;
    h ^= (static_cast<uint64_t>(from) << 32 | to) * 0xC2B2AE3D27D4EB4FULL;
    h ^= (static_cast<uint64_t>(type) << 32 | kind) * 0x165667B19E3779F9ULL;
    h ^= payload_hash * 0xD6E8FEB86659FD93ULL;
    digest_ = mix(digest_ + h);
    // Always stored (a ring of one slot when none is kept): no cursor, no branch.
    auto& ev = ring_[count_ & ring_mask_];
    ev = trace_event{count_, at, type, from, to, kind, payload_hash, digest_};
    ++count_;
    if (countdown_ != 0 && --countdown_ == 0)
      checkpoint();
    if (slow_)
      record_slow(ev);
  }

  // -- observers --------------------------------------------------------------

  uint64_t digest() const noexcept { return digest_; }
  uint64_t events() const noexcept { return count_; }

  /// The most recent events, oldest first (at most recent_events_max).
  std::vector<trace_event> recent() const;

  /// One readable line (JSON) for an event.
  std::string describe(const trace_event& ev) const;

  /// The run's trace for `compare_runs`.
  world_trace result() const;

  /// Flushes events.jsonl.
  void flush();

private:
  static uint64_t mix(uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  void record_slow(const trace_event& ev);
  void checkpoint();

  options opts_;
  namer names_;
  uint64_t digest_ = 0x7472'6F75'7065'0001ULL; // "troupe" + version: a fixed, nonzero start
  uint64_t count_ = 0;
  /// The most recent events: event k at [k & ring_mask_]; a power of two at least
  /// recent_events_max long (one slot, never read, when that is 0).
  std::vector<trace_event> ring_;
  uint64_t ring_mask_ = 0;
  uint64_t countdown_ = 0; ///< events until the next checkpoint; 0 = no more checkpoints
  bool slow_ = false;      ///< window or events.jsonl in use
  std::vector<uint64_t> checkpoints_;
  std::vector<trace_event> window_;
  std::vector<std::string> window_text_;
  std::FILE* file_ = nullptr;
  uint64_t file_bytes_ = 0;
  bool file_capped_ = false;
};

} // namespace troupe::sim
