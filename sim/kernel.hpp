#pragma once
// The deterministic kernel: virtual time and one event heap for everything that happens later
// in a simulated run (network deliveries, node timers, CAF timers and delayed messages).
// A run is a pure function of (scenario, seed) because the kernel is the only source of time
// and of ordering: events fire in (time, sequence) order, and CAF actors that become ready
// run in FIFO order of becoming ready, before the next timed event is taken.
//
// No CAF include here on purpose: the world and the models use the kernel without CAF, and
// this header is included by every simulated component (compile time).

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

namespace caf {
class resumable;
class execution_unit;
} // namespace caf

namespace troupe::sim {

using duration = std::chrono::nanoseconds;

/// Receives timed events from the kernel. Implemented by the world (deliveries, node timers)
/// and the virtual clock (CAF timeouts). An event is plain data (code, a, b), so scheduling a
/// network message allocates nothing.
class event_target {
public:
  /// Returns false if the event turned out to be dead (a cancelled timer): then the kernel
  /// acts as if it never existed, and virtual time does not move for it.
  virtual bool on_event(uint32_t code, uint32_t a, uint64_t b) = 0;

  /// A hint that this event is next: start loading what `on_event` will touch, so the cache
  /// misses of a large world overlap with the current event's work.
  virtual void prefetch(uint32_t, uint32_t, uint64_t) noexcept {}

  /// A second hint, for the event right after the current one: what `prefetch` loaded can
  /// now be followed (e.g. a node state's pointer to its model object).
  virtual void prefetch_next(uint32_t, uint32_t, uint64_t) noexcept {}

protected:
  ~event_target() = default;
};

class kernel final : private event_target {
public:
  // -- member types -----------------------------------------------------------

  /// Why a run loop returned.
  enum class stop_reason { deadline, idle, requested, limit };

  // -- constructors -----------------------------------------------------------

  kernel();
  kernel(const kernel&) = delete;
  kernel& operator=(const kernel&) = delete;
  ~kernel();

  // -- properties -------------------------------------------------------------

  /// Virtual time since the run started (starts at 0, never goes back).
  duration now() const noexcept { return now_; }

  /// Timed events waiting in the heap (including cancelled CAF timers not yet popped).
  size_t pending() const noexcept { return size_; }

  /// Timed events fired so far.
  uint64_t events_fired() const noexcept { return fired_; }

  /// CAF resumes performed so far.
  uint64_t resumes() const noexcept { return resumes_; }

  // -- scheduling -------------------------------------------------------------

  /// Hot path: `target.on_event(code, a, b)` at virtual time `at` (clamped to now).
  void schedule(duration at, event_target& target, uint32_t code, uint32_t a, uint64_t b) {
    if (at < now_)
      at = now_;
    push(entry{static_cast<uint64_t>(at.count()), seq_++ << target_bits | target_index(target), b,
               a, code});
  }

  /// Convenience for rare world events (fault schedules, tests): calls `f()` at `at`.
  /// Stores the callable in a slot table; not for per-message use.
  void schedule(duration at, std::function<void()> f);

  /// Same as `schedule(now() + delay, f)`.
  void schedule_after(duration delay, std::function<void()> f) {
    schedule(now_ + delay, std::move(f));
  }

  // -- running ----------------------------------------------------------------

  /// Runs ready actors and timed events up to and including `deadline`, then sets the clock
  /// to `deadline` (unless stopped early by `request_stop`).
  stop_reason run_until(duration deadline);

  /// Runs until nothing is left to do (no ready actor, no timed event), a stop request, or
  /// virtual time would pass `limit`.
  stop_reason run_until_idle(duration limit = duration::max());

  /// Runs only the ready CAF actors until none is ready (no virtual time passes; ignores
  /// stop requests). Returns the resumes made.
  size_t run_ready();

  /// Makes the running loop return after the current event. Cleared when a loop starts.
  void request_stop() noexcept { stop_requested_ = true; }

  bool stop_requested() const noexcept { return stop_requested_; }

  // -- CAF integration (used by the coordinator) ------------------------------

  /// Appends a ready CAF actor (the coordinator's enqueue). The kernel owns one reference.
  void enqueue_ready(caf::resumable* job) { ready_.push_back(job); }

  /// The execution unit handed to `resume`; set by the coordinator at start.
  void attach(caf::execution_unit* unit, size_t throughput) noexcept {
    unit_ = unit;
    throughput_ = throughput;
  }

  bool has_ready() const noexcept { return !ready_.empty(); }

  /// Releases every ready actor without running it (shutdown).
  void drop_ready();

private:
  // -- implementation ---------------------------------------------------------

  /// An event, whole: the calendar's arrays and heaps hold it by value, so firing one reads
  /// nothing else (a slab of payloads beside them was one more cache miss per event).
  struct entry {
    uint64_t time;  ///< virtual ns
    uint64_t order; ///< seq << target_bits | target: FIFO among events at the same instant
    uint64_t b;
    uint32_t a;
    uint32_t code;
  };

  /// Targets are few (the world, the virtual clock, the kernel's own callbacks): an event
  /// names its target by index, in the low bits of its order word. 52 bits of sequence
  /// number are 4.5e15 events.
  static constexpr unsigned target_bits = 12;

  uint64_t target_index(event_target& t) {
    if (&t == last_target_)
      return last_target_index_;
    return find_target(t);
  }
  uint64_t find_target(event_target& t);
  event_target& target_of(const entry& e) const noexcept {
    return *targets_[e.order & ((uint64_t{1} << target_bits) - 1)];
  }

  static bool before(const entry& x, const entry& y) noexcept {
    return x.time < y.time || (x.time == y.time && x.order < y.order);
  }

  void push(const entry& ev) {
    ++size_;
    // Unsigned: an event before near_end_ wraps to a huge distance and goes to late_.
    if (ev.time - near_end_ < (uint64_t{bucket_count} << bucket_shift)) {
      ring_[(ev.time >> bucket_shift) & (bucket_count - 1)].push_back(ev);
      ++ring_size_;
      return;
    }
    push_outside_ring(ev);
  }
  /// An event in the current bucket (late_) or past the ring's horizon (far_).
  void push_outside_ring(const entry& ev);
  /// Takes the earliest pending event into `ev` unless it is later than `limit`; only
  /// after refill() returned true. One comparison of the bucket's next event with late_.
  bool take(uint64_t limit, entry& ev) {
    const bool from_near =
      late_.empty() || (near_pos_ < near_.size() && before(near_[near_pos_], late_.front()));
    const entry& e = from_near ? near_[near_pos_] : late_.front();
    if (e.time > limit)
      return false;
    --size_;
    if (from_near)
      ev = near_[near_pos_++];
    else
      ev = heap_pop(late_);
    return true;
  }
  /// Makes the current bucket non-empty (moving the next non-empty bucket into it).
  /// False when nothing is pending.
  bool refill() { return near_pos_ < near_.size() || !late_.empty() || next_bucket(); }
  bool next_bucket();
  /// Orders near_ by (time, seq).
  void sort_bucket();
  static void heap_push(std::vector<entry>& h, const entry& ev);
  static entry heap_pop(std::vector<entry>& h);
  bool resume_one();
  bool on_event(uint32_t code, uint32_t a, uint64_t b) override;
  stop_reason loop(duration limit, bool advance_to_limit);

  duration now_{0};
  uint64_t seq_ = 0;
  uint64_t fired_ = 0;
  uint64_t resumes_ = 0;
  bool stop_requested_ = false;
  // The queue: a calendar of time buckets for the near future, a small heap for the
  // current bucket, a heap for the far future. Ordering is still exactly (time, seq); the
  // buckets only decide where an event waits. Why: with 100,000 events in flight one heap
  // is 2.4 MB and ~8 levels, and its pop was a quarter of a delivery's cost (cache misses
  // at every level); appending to a bucket is sequential, and the current bucket's heap
  // holds one bucket's events (a few thousand at most) in cache.
  static constexpr unsigned bucket_shift = 20; ///< bucket width 2^20 ns (~1.05 ms)
  static constexpr size_t bucket_count = 4096; ///< horizon ~4.3 s of virtual time
  std::vector<entry> near_;      ///< the current bucket, sorted, consumed from near_pos_
  std::vector<entry> scratch_;   ///< sort_bucket's second array
  std::vector<uint32_t> counts_; ///< sort_bucket's sub-bucket counts
  size_t near_pos_ = 0;
  std::vector<entry> late_; ///< 4-ary min-heap: events scheduled into the current bucket
  std::vector<std::vector<entry>> ring_; ///< bucket b: [start(b), start(b) + width)
  std::vector<entry> far_;               ///< 4-ary min-heap: events at or after the ring's horizon
  uint64_t near_end_ = 0;                ///< end of the current bucket (a bucket boundary)
  size_t ring_size_ = 0;                 ///< events in ring_
  size_t size_ = 0;                      ///< events in near_, ring_ and far_
  std::vector<event_target*> targets_;
  event_target* last_target_ = nullptr;
  uint64_t last_target_index_ = 0;
  std::deque<caf::resumable*> ready_;
  caf::execution_unit* unit_ = nullptr;
  size_t throughput_ = 1;
  std::vector<std::function<void()>> callbacks_;
  std::vector<uint32_t> free_callbacks_;
};

} // namespace troupe::sim
