#pragma once
// The simulated network: per-link latency, jitter, loss, bandwidth, duplication, reordering.
// It decides, for one message, whether it arrives and when; the world schedules the arrival.
// Links are directed (from, to). A link's state (when its sender side is busy serialising,
// when its last message arrives) is kept only while it matters -- for links with bandwidth
// or jitter and a message in flight -- so a million idle nodes cost nothing here.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <unordered_map>
#include <vector>

#include "actors/random.hpp"
#include "sim/kernel.hpp"

namespace troupe::sim {

using node_index = uint32_t;

/// Properties of one direction of a link. The scenario's link profile fills these.
struct link_options {
  enum jitter_kind_t : uint8_t {
    uniform, ///< extra delay uniform in [0, jitter]
    normal,  ///< extra delay |N(0, 1)| * jitter (half-normal), capped at 6 * jitter
  };

  duration latency{std::chrono::milliseconds(10)}; ///< one-way propagation delay
  duration jitter{0};
  jitter_kind_t jitter_kind = uniform;
  double loss = 0;            ///< probability a message is dropped
  uint64_t bandwidth_bps = 0; ///< serialisation rate in bits/s; 0 = unlimited
  double duplicate = 0;       ///< probability a message is delivered twice
  double reorder = 0;         ///< probability a message may be overtaken (skips FIFO)
  /// `datagram`: a lost message is gone. `stream` (TCP-like): nothing is lost or reordered
  /// or duplicated; a loss costs a retransmission timeout (from the RTT, doubling per loss
  /// of the same segment), and later messages wait behind it (head-of-line blocking).
  enum transport_t : uint8_t { datagram, stream };
  transport_t transport = datagram;

  friend bool operator==(const link_options& x, const link_options& y) noexcept {
    return x.latency == y.latency && x.jitter == y.jitter && x.jitter_kind == y.jitter_kind &&
           x.loss == y.loss && x.bandwidth_bps == y.bandwidth_bps && x.duplicate == y.duplicate &&
           x.reorder == y.reorder && x.transport == y.transport;
  }
  friend bool operator!=(const link_options& x, const link_options& y) noexcept {
    return !(x == y);
  }
};

class network {
public:
  // -- member types -----------------------------------------------------------

  /// The fate of one message.
  struct route {
    bool lost = false;
    uint8_t copies = 0;      ///< 1, or 2 when duplicated
    uint8_t retransmits = 0; ///< stream links: losses paid for with a retransmission
    duration arrival[2]{};   ///< absolute virtual times of the copies
  };

  // -- constructors -----------------------------------------------------------

  explicit network(link_options default_link = {});

  // -- configuration ----------------------------------------------------------

  void set_default(const link_options& x);
  const link_options& default_link() const noexcept { return default_; }

  /// Overrides one direction of one link.
  void set_link(node_index from, node_index to, const link_options& x);
  void clear_link(node_index from, node_index to);

  /// The options in force on `from -> to`.
  const link_options& link(node_index from, node_index to) const {
    if (overrides_.empty())
      return default_;
    auto i = overrides_.find(key_of(from, to));
    return i == overrides_.end() ? default_ : i->second;
  }

  // -- routing ----------------------------------------------------------------

  /// Decides the fate of a message of `bytes` sent at `now`. `depart_min` delays departure
  /// (a clogged link or node). FIFO per direction: a copy never arrives before an earlier
  /// copy on the same link unless the reorder draw lets it be overtaken.
  route send(node_index from, node_index to, uint32_t bytes, duration now, duration depart_min,
             troupe::rng& r) {
    if (overrides_.empty() && plain_default_)
      return send_plain(from, to, now, depart_min, r);
    return send_general(from, to, bytes, now, depart_min, r);
  }

  /// Link states currently tracked in the shared table (for memory accounting and tests).
  size_t tracked_links() const noexcept { return size_; }

  /// A hint that `sender` is about to send: its own link slot is loaded ahead.
  void prefetch_sender(node_index sender) const noexcept {
    if (sender < senders_.size())
      __builtin_prefetch(&senders_[sender]);
  }

private:
  // -- implementation ---------------------------------------------------------

  struct link_state {
    uint64_t key = 0; ///< 0 = empty slot
    int64_t busy_until = 0;
    int64_t last_arrival = 0;
  };

  /// Most senders have one or two links in flight at a time: their state lives in the
  /// sender's own slots (one cache line, which the world prefetches with the delivery that
  /// makes it send), and only the others go to the shared table -- a cache miss nobody can
  /// prefetch. A link's live state is in one place only: a slot or the table.
  static constexpr size_t inline_links = 2;
  struct alignas(64) sender_slot {
    link_state links[inline_links];
    int64_t overflow_until = 0; ///< last arrival among this sender's table entries
  };

  static bool stale(const link_state& s, duration now) noexcept {
    return s.last_arrival <= now.count() && s.busy_until <= now.count();
  }

  /// Every link is the default and the default only delays (latency, uniform jitter): the
  /// same draws and arrival as send_general, without its branches (inlined into the world's
  /// send: ~40 instructions less per message).
  route send_plain(node_index from, node_index to, duration now, duration depart_min,
                   troupe::rng& r) {
    route result;
    result.copies = 1;
    auto arrival = std::max(now, depart_min) + default_.latency;
    if (default_.jitter.count() > 0) {
      arrival += draw_jitter(default_, r);
      bool in_table = false;
      auto& s = locate(from, to, now, in_table);
      arrival = after_last(s, arrival);
      if (in_table)
        note_overflow(from, s);
    }
    result.arrival[0] = arrival;
    return result;
  }
  route send_general(node_index from, node_index to, uint32_t bytes, duration now,
                     duration depart_min, troupe::rng& r);
  /// FIFO on a tracked link: a message arrives no earlier than the one before it.
  static duration after_last(link_state& s, duration arrival) noexcept {
    arrival = duration{std::max(arrival.count(), s.last_arrival)};
    s.last_arrival = arrival.count();
    return arrival;
  }
  /// A link whose state is in the shared table: its sender's slots learn until when.
  void note_overflow(node_index from, const link_state& s) {
    auto& ss = senders_[from];
    ss.overflow_until = std::max({ss.overflow_until, s.last_arrival, s.busy_until});
  }
  /// Whether a link with these options only delays (see send_plain).
  static bool plain(const link_options& l) noexcept {
    return l.loss <= 0 && l.bandwidth_bps == 0 && l.reorder <= 0 && l.duplicate <= 0 &&
           l.transport == link_options::datagram && l.jitter_kind == link_options::uniform;
  }
  link_state& locate(node_index from, node_index to, duration now, bool& in_table);
  link_state* find(uint64_t key);

  static uint64_t key_of(node_index from, node_index to) noexcept {
    return (static_cast<uint64_t>(from) + 1) << 32 | to;
  }

  /// The jitter draw; the uniform one inline (a call was ~20 of its ~35 instructions).
  static duration draw_jitter(const link_options& l, troupe::rng& r) {
    if (l.jitter.count() <= 0)
      return duration{0};
    if (l.jitter_kind == link_options::uniform)
      return duration{static_cast<int64_t>(r.below(static_cast<uint64_t>(l.jitter.count()) + 1))};
    return draw_normal_jitter(l, r);
  }
  static duration draw_normal_jitter(const link_options& l, troupe::rng& r);
  /// Stream links: the delay that retransmissions add to a segment the first draw lost.
  static duration retransmission_delay(const link_options& l, troupe::rng& r, uint8_t& count);
  link_state& state(uint64_t key, duration now);
  void rebuild(size_t capacity, duration now);

  link_options default_;
  bool plain_default_ = plain(default_);
  /// Links whose options differ from the default. A link set to the default itself is not
  /// stored (the sim backend sets every edge, usually to the default): `link()` is on every
  /// send, and a lookup in 16,000 overrides cost ~8% of a 1,000-node run. Lookup only,
  /// never iterated.
  std::unordered_map<uint64_t, link_options> overrides_;
  /// Links set explicitly to the default (not in `overrides_`): they keep those options if
  /// the default changes later. Setup only.
  std::set<uint64_t> pinned_default_;
  std::vector<link_state> table_;    ///< open addressing, linear probing, power-of-two size
  std::vector<link_state> spare_;    ///< the previous table, kept to avoid reallocating
  std::vector<sender_slot> senders_; ///< sized lazily, up to the highest tracked sender
  size_t size_ = 0;
};

} // namespace troupe::sim
