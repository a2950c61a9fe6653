#include "sim/network.hpp"

#include <algorithm>
#include <cmath>

namespace troupe::sim {

namespace {

uint64_t mix(uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDULL;
  x ^= x >> 33;
  return x;
}

} // namespace

network::network(link_options default_link)
  : default_(default_link) {
  // nop
}

void network::set_default(const link_options& x) {
  for (uint64_t key : pinned_default_)
    overrides_.emplace(key, default_);
  pinned_default_.clear();
  default_ = x;
  plain_default_ = plain(x);
}

void network::set_link(node_index from, node_index to, const link_options& x) {
  const auto key = key_of(from, to);
  if (x == default_) {
    overrides_.erase(key);
    pinned_default_.insert(key);
    return;
  }
  pinned_default_.erase(key);
  overrides_[key] = x;
}

void network::clear_link(node_index from, node_index to) {
  overrides_.erase(key_of(from, to));
  pinned_default_.erase(key_of(from, to));
}

duration network::draw_normal_jitter(const link_options& l, troupe::rng& r) {
  auto z = std::min(std::fabs(r.normal()), 6.0);
  return duration{static_cast<int64_t>(z * static_cast<double>(l.jitter.count()))};
}

duration network::retransmission_delay(const link_options& l, troupe::rng& r, uint8_t& count) {
  // TCP's retransmission timeout: about an RTT (twice the one-way latency and jitter), never
  // below Linux's 200 ms minimum; each further loss of the same segment doubles it. Bounded:
  // past 15 retransmissions a real connection would have been reset.
  using namespace std::chrono_literals;
  duration rto = std::max<duration>(200ms, 2 * (l.latency + l.jitter));
  duration total{0};
  count = 0;
  do {
    total += rto;
    rto *= 2;
    ++count;
  } while (count < 15 && r.chance(l.loss));
  return total;
}

void network::rebuild(size_t capacity, duration now) {
  // Entries whose last message has arrived constrain nothing any more: drop them. This keeps
  // the table proportional to the links with traffic in flight, not to every pair ever used.
  std::vector<link_state> old;
  old.swap(table_);
  table_.swap(spare_); // reuse the previous table's allocation
  table_.assign(capacity, link_state{});
  size_ = 0;
  auto mask = capacity - 1;
  for (auto& e : old) {
    if (e.key == 0 || stale(e, now))
      continue;
    auto i = mix(e.key) & mask;
    while (table_[i].key != 0)
      i = (i + 1) & mask;
    table_[i] = e;
    ++size_;
  }
  spare_.swap(old);
}

network::link_state& network::state(uint64_t key, duration now) {
  if (table_.empty())
    rebuild(1024, now);
  auto mask = table_.size() - 1;
  auto i = mix(key) & mask;
  while (table_[i].key != 0) {
    if (table_[i].key == key)
      return table_[i];
    i = (i + 1) & mask;
  }
  if ((size_ + 1) * 2 > table_.size()) {
    // Sweep stale entries first; grow while live links fill more than an eighth, so that
    // sweeps stay rare (amortised: a few slots scanned per insert).
    rebuild(table_.size(), now);
    if ((size_ + 1) * 8 > table_.size())
      rebuild(table_.size() * 2, now);
    return state(key, now);
  }
  table_[i].key = key;
  table_[i].busy_until = 0;
  table_[i].last_arrival = 0;
  ++size_;
  return table_[i];
}

network::link_state& network::locate(node_index from, node_index to, duration now, bool& in_table) {
  auto key = key_of(from, to);
  if (senders_.size() <= from)
    senders_.resize(static_cast<size_t>(from) + 1);
  auto& ss = senders_[from];
  in_table = false;
  link_state* free_slot = nullptr;
  for (auto& slot : ss.links) {
    if (slot.key == key)
      return slot;
    if (free_slot == nullptr && (slot.key == 0 || stale(slot, now)))
      free_slot = &slot;
  }
  if (free_slot != nullptr && ss.overflow_until <= now.count()) {
    // None of this sender's table entries is live: the link has no state anywhere else.
    *free_slot = link_state{key, 0, 0};
    return *free_slot;
  }
  in_table = true;
  if (free_slot != nullptr) {
    // A live entry for this link may sit in the table; if not, take the free slot.
    auto* found = find(key);
    if (found == nullptr || stale(*found, now)) {
      in_table = false;
      *free_slot = link_state{key, 0, 0};
      return *free_slot;
    }
    return *found;
  }
  return state(key, now);
}

network::link_state* network::find(uint64_t key) {
  if (table_.empty())
    return nullptr;
  auto mask = table_.size() - 1;
  auto i = mix(key) & mask;
  while (table_[i].key != 0) {
    if (table_[i].key == key)
      return &table_[i];
    i = (i + 1) & mask;
  }
  return nullptr;
}

network::route network::send_general(node_index from, node_index to, uint32_t bytes, duration now,
                                     duration depart_min, troupe::rng& r) {
  route result;
  const auto& l = link(from, to);
  const bool stream = l.transport == link_options::stream;
  duration resent{0};
  // The first draw is the same on both transports, so datagram links keep every draw (and
  // every digest) they had before streams existed.
  if (l.loss > 0 && r.chance(l.loss)) {
    if (!stream) {
      result.lost = true;
      return result;
    }
    resent = retransmission_delay(l, r, result.retransmits);
  }
  auto depart = std::max(now, depart_min);
  // Constant latency without bandwidth keeps FIFO by itself: (time, sequence) ordering in
  // the kernel does the rest. Only links that can reorder or queue need state; a stream link
  // with loss does (a retransmitted segment holds back the ones behind it).
  bool tracked = l.bandwidth_bps > 0 || l.jitter.count() > 0 || (stream && l.loss > 0);
  bool reordered = !stream && l.reorder > 0 && r.chance(l.reorder);
  auto arrival = depart + l.latency + draw_jitter(l, r) + resent;
  if (tracked) {
    bool in_table = false;
    auto& s = locate(from, to, now, in_table);
    if (l.bandwidth_bps > 0) {
      // Serialisation: the sender side transmits one message at a time, so queues form.
      auto start = std::max(depart.count(), s.busy_until);
      auto ser = static_cast<int64_t>((static_cast<unsigned __int128>(bytes) * 8 * 1000000000ULL) /
                                      l.bandwidth_bps);
      s.busy_until = start + ser;
      arrival += duration{s.busy_until - depart.count()};
    }
    if (reordered) {
      // Overtakable: extra delay, and later messages do not wait for this one.
      arrival += duration{
        static_cast<int64_t>(r.below(static_cast<uint64_t>((l.latency + l.jitter).count()) + 1))};
    } else {
      arrival = after_last(s, arrival);
    }
    if (in_table)
      note_overflow(from, s);
  } else if (reordered) {
    arrival += duration{
      static_cast<int64_t>(r.below(static_cast<uint64_t>((l.latency + l.jitter).count()) + 1))};
  }
  result.copies = 1;
  result.arrival[0] = arrival;
  if (!stream && l.duplicate > 0 && r.chance(l.duplicate)) {
    // The copy travels independently (another path), so it is not FIFO-bound.
    result.copies = 2;
    result.arrival[1] = depart + l.latency + draw_jitter(l, r);
  }
  return result;
}

} // namespace troupe::sim
