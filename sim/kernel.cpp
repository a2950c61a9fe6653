#include "sim/kernel.hpp"

#include <algorithm>
#include <cassert>
#include <stdexcept>
#include <utility>

#include <caf/resumable.hpp>

namespace troupe::sim {

namespace {

// Event code of the kernel's own callback events (the only target that uses it is the kernel).
constexpr uint32_t callback_code = 1;

} // namespace

// -- constructors -------------------------------------------------------------

kernel::kernel()
  : ring_(bucket_count) {
  near_.reserve(1024);
}

kernel::~kernel() { drop_ready(); }

// -- scheduling ---------------------------------------------------------------

void kernel::schedule(duration at, std::function<void()> f) {
  uint32_t slot;
  if (!free_callbacks_.empty()) {
    slot = free_callbacks_.back();
    free_callbacks_.pop_back();
    callbacks_[slot] = std::move(f);
  } else {
    slot = static_cast<uint32_t>(callbacks_.size());
    callbacks_.push_back(std::move(f));
  }
  schedule(at, *this, callback_code, slot, 0);
}

bool kernel::on_event(uint32_t code, uint32_t a, uint64_t) {
  assert(code == callback_code);
  (void) code;
  auto f = std::move(callbacks_[a]);
  callbacks_[a] = nullptr;
  free_callbacks_.push_back(a);
  f();
  return true;
}

uint64_t kernel::find_target(event_target& t) {
  auto i = std::find(targets_.begin(), targets_.end(), &t);
  if (i == targets_.end()) {
    if (targets_.size() == size_t{1} << target_bits)
      throw std::length_error("sim::kernel: more than 4096 event targets");
    i = targets_.insert(targets_.end(), &t);
  }
  last_target_ = &t;
  last_target_index_ = static_cast<uint64_t>(i - targets_.begin());
  return last_target_index_;
}

// -- queue --------------------------------------------------------------------

void kernel::heap_push(std::vector<entry>& h, const entry& ev) {
  // Sift up in a 4-ary heap; holes instead of swaps.
  size_t i = h.size();
  h.push_back(ev);
  while (i > 0) {
    size_t parent = (i - 1) / 4;
    if (!before(ev, h[parent]))
      break;
    h[i] = h[parent];
    i = parent;
  }
  h[i] = ev;
}

kernel::entry kernel::heap_pop(std::vector<entry>& h) {
  // Bottom-up deletion: walk the hole down to a leaf along the smallest children (no
  // comparison with the moved element on the way), then sift the last element up from
  // there. The last element usually belongs near the bottom, so this saves most compares.
  entry top = h.front();
  entry last = h.back();
  h.pop_back();
  size_t n = h.size();
  if (n == 0)
    return top;
  size_t i = 0;
  for (;;) {
    size_t first = 4 * i + 1;
    if (first >= n)
      break;
    size_t best = first;
    if (first + 3 < n) {
      size_t b1 = before(h[first + 1], h[first]) ? first + 1 : first;
      size_t b2 = before(h[first + 3], h[first + 2]) ? first + 3 : first + 2;
      best = before(h[b2], h[b1]) ? b2 : b1;
    } else {
      for (size_t c = first + 1; c < n; ++c)
        if (before(h[c], h[best]))
          best = c;
    }
    h[i] = h[best];
    i = best;
  }
  while (i > 0) {
    size_t parent = (i - 1) / 4;
    if (!before(last, h[parent]))
      break;
    h[i] = h[parent];
    i = parent;
  }
  h[i] = last;
  return top;
}

void kernel::push_outside_ring(const entry& ev) {
  if (ev.time < near_end_)
    heap_push(late_, ev);
  else
    heap_push(far_, ev);
}

bool kernel::next_bucket() {
  constexpr uint64_t width = uint64_t{1} << bucket_shift;
  constexpr uint64_t horizon = uint64_t{bucket_count} << bucket_shift;
  while (near_pos_ == near_.size() && late_.empty()) {
    if (size_ == 0)
      return false;
    near_.clear();
    near_pos_ = 0;
    if (ring_size_ == 0) {
      // Only far events: jump to the bucket of the earliest one.
      near_end_ = (far_.front().time >> bucket_shift) << bucket_shift;
    }
    // The bucket [near_end_, near_end_ + width) becomes current.
    auto& b = ring_[(near_end_ >> bucket_shift) & (bucket_count - 1)];
    if (!b.empty()) {
      ring_size_ -= b.size();
      near_.swap(b); // near_ was empty: take the bucket's array without copying
      // A bucket keeps no big array between uses: 4096 buckets each holding on to its
      // own busiest moment cost ~50 MB in a 1,000-node run; refilling costs a few
      // reallocations per bucket per pass of the ring.
      b.clear();
      if (b.capacity() > 64)
        std::vector<entry>{}.swap(b);
    }
    near_end_ += width;
    // The ring's horizon moved: far events that now fall inside it move in (the bucket
    // just emptied is now the ring's last one).
    while (!far_.empty() && far_.front().time < near_end_ + horizon) {
      entry e = heap_pop(far_);
      if (e.time < near_end_) {
        near_.push_back(e);
      } else {
        ring_[(e.time >> bucket_shift) & (bucket_count - 1)].push_back(e);
        ++ring_size_;
      }
    }
    // Sorted once, then read in order: a pop is a cursor step, and the events after the
    // next are known, so their data can be prefetched several events ahead.
    sort_bucket();
  }
  return true;
}

void kernel::sort_bucket() {
  // A stable counting sort on the time's top bits inside the bucket, then an insertion sort
  // that finishes the exact (time, seq) order. A bucket fills in schedule order, so after the
  // counting pass each sub-bucket is already in seq order and the insertion sort only orders
  // a few events by time; were it not, the insertion sort would still make the order exact.
  // (std::sort cost ~100 instructions per event in a 1,000-node run with ~40 per bucket.)
  const size_t n = near_.size();
  if (n > 16) {
    unsigned bits = 1;
    while (bits < 12 && (size_t{2} << bits) < n)
      ++bits; // about two events per sub-bucket
    const unsigned shift = bucket_shift - bits;
    const uint64_t mask = (uint64_t{1} << bits) - 1;
    counts_.assign((size_t{1} << bits) + 1, 0);
    for (const auto& e : near_)
      ++counts_[((e.time >> shift) & mask) + 1];
    for (size_t k = 1; k < counts_.size(); ++k)
      counts_[k] += counts_[k - 1];
    scratch_.resize(n);
    for (const auto& e : near_)
      scratch_[counts_[(e.time >> shift) & mask]++] = e;
    near_.swap(scratch_);
  }
  for (size_t i = 1; i < n; ++i) {
    if (!before(near_[i], near_[i - 1]))
      continue;
    entry e = near_[i];
    size_t j = i;
    do {
      near_[j] = near_[j - 1];
      --j;
    } while (j > 0 && before(e, near_[j - 1]));
    near_[j] = e;
  }
}

// -- running ------------------------------------------------------------------

bool kernel::resume_one() {
  auto* job = ready_.front();
  ready_.pop_front();
  ++resumes_;
  switch (job->resume(unit_, throughput_)) {
    case caf::resumable::resume_later:
      // Back of the queue: ready actors take turns, in the order they became ready.
      ready_.push_back(job);
      break;
    case caf::resumable::done:
    case caf::resumable::awaiting_message:
      intrusive_ptr_release(job);
      break;
    case caf::resumable::shutdown_execution_unit:
      break;
  }
  return true;
}

size_t kernel::run_ready() {
  size_t n = 0;
  while (!ready_.empty()) {
    resume_one();
    ++n;
  }
  return n;
}

void kernel::drop_ready() {
  while (!ready_.empty()) {
    auto* job = ready_.front();
    ready_.pop_front();
    intrusive_ptr_release(job);
  }
}

kernel::stop_reason kernel::loop(duration limit, bool advance_to_limit) {
  stop_requested_ = false;
  for (;;) {
    if (stop_requested_)
      return stop_reason::requested;
    if (!ready_.empty()) {
      resume_one();
      continue;
    }
    if (!refill()) {
      if (advance_to_limit) {
        now_ = limit;
        return stop_reason::deadline;
      }
      return stop_reason::idle;
    }
    entry ev;
    if (!take(static_cast<uint64_t>(limit.count()), ev)) {
      if (advance_to_limit) {
        now_ = limit;
        return stop_reason::deadline;
      }
      return stop_reason::limit;
    }
    // Hints for the events ahead in the current bucket (events scheduled into it meanwhile
    // may come first; then a hint is merely early): the target's data (node state, flight
    // record, link slot) three ahead, and what that data points to (the model object) one
    // ahead.
    if (near_pos_ + 3 < near_.size()) {
      const auto& ahead = near_[near_pos_ + 3];
      target_of(ahead).prefetch(ahead.code, ahead.a, ahead.b);
    }
    if (near_pos_ < near_.size()) {
      const auto& next = near_[near_pos_];
      target_of(next).prefetch_next(next.code, next.a, next.b);
    }
    auto was = now_;
    now_ = duration{static_cast<int64_t>(ev.time)};
    if (target_of(ev).on_event(ev.code, ev.a, ev.b))
      ++fired_;
    else
      now_ = was; // nothing observed the new time: idle means idle at the last real event
  }
}

kernel::stop_reason kernel::run_until(duration deadline) {
  if (deadline < now_)
    deadline = now_;
  return loop(deadline, true);
}

kernel::stop_reason kernel::run_until_idle(duration limit) { return loop(limit, false); }

} // namespace troupe::sim
