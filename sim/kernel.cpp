#include "sim/kernel.hpp"

#include <cassert>
#include <utility>

#include <caf/resumable.hpp>

namespace troupe::sim {

namespace {

// Event code of the kernel's own callback events (the only target that uses it is the kernel).
constexpr uint32_t callback_code = 1;

} // namespace

// -- constructors -------------------------------------------------------------

kernel::kernel() {
  heap_.reserve(1024);
}

kernel::~kernel() {
  drop_ready();
}

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

// -- heap ---------------------------------------------------------------------

void kernel::push(const entry& ev) {
  // Sift up in a 4-ary heap; holes instead of swaps.
  size_t i = heap_.size();
  heap_.push_back(ev);
  while (i > 0) {
    size_t parent = (i - 1) / 4;
    if (!before(ev, heap_[parent]))
      break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = ev;
}

kernel::entry kernel::pop() {
  // Bottom-up deletion: walk the hole down to a leaf along the smallest children (no
  // comparison with the moved element on the way), then sift the last element up from
  // there. The last element usually belongs near the bottom, so this saves most compares.
  entry top = heap_.front();
  entry last = heap_.back();
  heap_.pop_back();
  size_t n = heap_.size();
  if (n == 0)
    return top;
  size_t i = 0;
  for (;;) {
    size_t first = 4 * i + 1;
    if (first >= n)
      break;
    size_t best = first;
    if (first + 3 < n) {
      size_t b1 = before(heap_[first + 1], heap_[first]) ? first + 1 : first;
      size_t b2 = before(heap_[first + 3], heap_[first + 2]) ? first + 3 : first + 2;
      best = before(heap_[b2], heap_[b1]) ? b2 : b1;
    } else {
      for (size_t c = first + 1; c < n; ++c)
        if (before(heap_[c], heap_[best]))
          best = c;
    }
    heap_[i] = heap_[best];
    i = best;
  }
  while (i > 0) {
    size_t parent = (i - 1) / 4;
    if (!before(last, heap_[parent]))
      break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = last;
  return top;
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
    if (heap_.empty()) {
      if (advance_to_limit) {
        now_ = limit;
        return stop_reason::deadline;
      }
      return stop_reason::idle;
    }
    if (static_cast<int64_t>(heap_.front().time) > limit.count()) {
      if (advance_to_limit) {
        now_ = limit;
        return stop_reason::deadline;
      }
      return stop_reason::limit;
    }
    entry ev = pop();
    payload p = payloads_[ev.slot];
    free_slots_.push_back(ev.slot);
    if (!heap_.empty()) {
      const auto& next = payloads_[heap_.front().slot];
      next.target->prefetch(next.code, next.a, next.b);
      if (heap_.size() > 4) {
        // Two ahead: only the payload (its target's data is hinted next round).
        size_t c = before(heap_[2], heap_[1]) ? 2 : 1;
        __builtin_prefetch(&payloads_[heap_[c].slot]);
      }
    }
    auto was = now_;
    now_ = duration{static_cast<int64_t>(ev.time)};
    if (p.target->on_event(p.code, p.a, p.b))
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

kernel::stop_reason kernel::run_until_idle(duration limit) {
  return loop(limit, false);
}

} // namespace troupe::sim
