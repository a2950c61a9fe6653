#include "sim/trace.hpp"

#include <algorithm>
#include <cinttypes>

namespace troupe::sim {

const char* to_string(trace_kind k) noexcept {
  switch (k) {
    case trace_kind::deliver:
      return "deliver";
    case trace_kind::drop_loss:
      return "drop_loss";
    case trace_kind::drop_partition:
      return "drop_partition";
    case trace_kind::drop_crash:
      return "drop_crash";
    case trace_kind::duplicate:
      return "duplicate";
    case trace_kind::start:
      return "start";
    case trace_kind::crash:
      return "crash";
    case trace_kind::restart:
      return "restart";
    case trace_kind::pause:
      return "pause";
    case trace_kind::resume:
      return "resume";
    case trace_kind::partition:
      return "partition";
    case trace_kind::isolate:
      return "isolate";
    case trace_kind::heal:
      return "heal";
    case trace_kind::heal_all:
      return "heal_all";
    case trace_kind::clog:
      return "clog";
    case trace_kind::clog_link:
      return "clog_link";
    case trace_kind::set_clock:
      return "set_clock";
    case trace_kind::set_link:
      return "set_link";
    case trace_kind::submit:
      return "submit";
    case trace_kind::external:
      return "external";
    case trace_kind::byzantine:
      return "byzantine";
    case trace_kind::stream_break:
      return "stream_break";
    case trace_kind::stream_up:
      return "stream_up";
  }
  return "unknown";
}

// -- constructors -------------------------------------------------------------

trace::trace(options opts, namer names)
  : opts_(std::move(opts))
  , names_(std::move(names)) {
  size_t ring_size = 1;
  while (ring_size < opts_.recent_events_max)
    ring_size *= 2;
  ring_.resize(ring_size);
  ring_mask_ = ring_size - 1;
  countdown_ = opts_.request.checkpoint_every;
  slow_ = opts_.request.record_count > 0;
  if (!opts_.events_path.empty()) {
    file_ = std::fopen(opts_.events_path.c_str(), "w");
    if (file_ != nullptr) {
      static thread_local char buf[1 << 16];
      std::setvbuf(file_, buf, _IOFBF, sizeof(buf));
      slow_ = true;
    }
  }
}

trace::~trace() {
  if (file_ != nullptr)
    std::fclose(file_);
}

// -- recording ----------------------------------------------------------------

void trace::checkpoint() {
  if (checkpoints_.size() >= opts_.checkpoints_max)
    return; // countdown_ stays 0: checkpoints stop, result() says how far they reach
  checkpoints_.push_back(digest_);
  countdown_ = opts_.request.checkpoint_every;
}

void trace::record_slow(const trace_event& ev) {
  const auto& req = opts_.request;
  if (ev.index >= req.record_from && ev.index - req.record_from < req.record_count) {
    window_.push_back(ev);
    window_text_.push_back(describe(ev));
  }
  if (file_ != nullptr && !file_capped_) {
    auto line = describe(ev);
    line += '\n';
    if (file_bytes_ + line.size() > opts_.events_bytes_max) {
      static constexpr char marker[] = "{\"truncated\":true}\n";
      std::fputs(marker, file_);
      file_capped_ = true;
      if (req.record_count == 0)
        slow_ = false;
      return;
    }
    std::fwrite(line.data(), 1, line.size(), file_);
    file_bytes_ += line.size();
  }
}

void trace::flush() {
  if (file_ != nullptr)
    std::fflush(file_);
}

// -- observers ----------------------------------------------------------------

std::vector<trace_event> trace::recent() const {
  std::vector<trace_event> result;
  auto n = std::min<uint64_t>(count_, opts_.recent_events_max);
  result.reserve(n);
  for (uint64_t k = count_ - n; k < count_; ++k)
    result.push_back(ring_[k & ring_mask_]);
  return result;
}

std::string trace::describe(const trace_event& ev) const {
  auto name = [this](node_index i) -> std::string {
    if (i == no_node)
      return "";
    return names_ ? names_(i) : std::to_string(i);
  };
  char buf[160];
  std::snprintf(buf, sizeof(buf), "{\"i\":%" PRIu64 ",\"t_ns\":%" PRId64 ",\"event\":\"%s\",",
                ev.index, static_cast<int64_t>(ev.at.count()), to_string(ev.type));
  std::string out = buf;
  out += "\"from\":\"" + name(ev.from) + "\",\"to\":\"" + name(ev.to) + "\",";
  std::snprintf(buf, sizeof(buf),
                "\"kind\":%" PRIu32 ",\"payload\":\"%016" PRIx64 "\",\"digest\":\"%016" PRIx64
                "\"}",
                ev.kind, ev.payload_hash, ev.digest);
  out += buf;
  return out;
}

world_trace trace::result() const {
  world_trace r;
  r.digest = digest_;
  r.events = count_;
  r.checkpoint_every = opts_.request.checkpoint_every;
  r.checkpoints = checkpoints_;
  r.window_from = opts_.request.record_from;
  r.window = window_;
  r.window_text = window_text_;
  return r;
}

// -- divergence ---------------------------------------------------------------

namespace {

/// First index where two recorded windows differ; false if they agree where both exist.
bool first_difference(const world_trace& a, const world_trace& b, uint64_t& at) {
  auto n = std::min(a.window.size(), b.window.size());
  for (size_t i = 0; i < n; ++i) {
    if (!a.window[i].same_as(b.window[i])) {
      at = i;
      return true;
    }
  }
  if (a.window.size() != b.window.size()) {
    at = n;
    return true;
  }
  return false;
}

divergence name_it(const world_trace& a, const world_trace& b, uint64_t i) {
  divergence d;
  d.diverged = true;
  d.index = a.window_from + i;
  d.first_event = i < a.window_text.size() ? a.window_text[i] : "(none: the run ended)";
  d.second_event = i < b.window_text.size() ? b.window_text[i] : "(none: the run ended)";
  d.first_digest = a.digest;
  d.second_digest = b.digest;
  return d;
}

} // namespace

divergence compare_runs(const std::function<world_trace(const trace_request&)>& run,
                        uint64_t window_events, uint64_t checkpoint_every) {
  trace_request first{0, window_events, checkpoint_every};
  auto a = run(first);
  auto b = run(first);
  if (a.digest == b.digest && a.events == b.events) {
    divergence d;
    d.first_digest = a.digest;
    d.second_digest = b.digest;
    return d;
  }
  uint64_t i = 0;
  if (first_difference(a, b, i)) {
    // Within the recorded prefix (a difference at its end only counts if a run ended there).
    bool ended = i == std::min(a.window.size(), b.window.size()) &&
                 (a.window.size() < window_events || b.window.size() < window_events);
    if (i < std::min(a.window.size(), b.window.size()) || ended)
      return name_it(a, b, i);
  }
  // Past the prefix: the first differing checkpoint bounds the window.
  auto n = std::min(a.checkpoints.size(), b.checkpoints.size());
  uint64_t j = 0;
  while (j < n && a.checkpoints[j] == b.checkpoints[j])
    ++j;
  uint64_t lo = j * checkpoint_every;
  trace_request again{lo, checkpoint_every, checkpoint_every};
  auto a2 = run(again);
  auto b2 = run(again);
  divergence d;
  if (first_difference(a2, b2, i)) {
    d = name_it(a2, b2, i);
  } else {
    d.diverged = true;
    d.index = lo;
    d.first_event = "(not reproduced)";
    d.second_event = "(not reproduced)";
    d.note = "the runs diverge between events " + std::to_string(lo) + " and " +
             std::to_string(lo + checkpoint_every) +
             ", but the re-runs recording that window did not differ there";
  }
  d.first_digest = a.digest;
  d.second_digest = b.digest;
  // The re-runs must share the history before the window, or the window is not the first.
  auto m = std::min(a2.checkpoints.size(), j);
  for (uint64_t k = 0; k < m; ++k) {
    if (a2.checkpoints[k] != a.checkpoints[k] || b2.checkpoints[k] != a.checkpoints[k]) {
      d.note = "the re-runs diverged before event " + std::to_string(lo) +
               "; the named event is where the re-runs parted";
      break;
    }
  }
  return d;
}

} // namespace troupe::sim
