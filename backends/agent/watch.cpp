#include "backends/agent/watch.hpp"

#include <algorithm>

namespace troupe::backends::agent {

using nlohmann::json;

namespace {

json block_json(const adapters::block_info& b) {
  return json{{"height", b.height}, {"hash", b.hash}, {"parent", b.parent}, {"txids", b.txids}};
}

} // namespace

// -- node_watch -----------------------------------------------------------------

node_watch::node_watch(watch_spec s)
  : spec_(std::move(s)) {
  a_ = adapters::make_adapter(spec_.adapter, spec_.id, spec_.timeout, "watch.adapter");
}

/// The blocks of the node's best chain above where it left ours (oldest first, bounded per
/// poll: chain_follower); `reorg` is how many of ours it replaced, `fork` the height below
/// them.
json node_watch::new_blocks(const node_status& now, uint32_t* reorg, uint64_t* fork) {
  json out = json::array();
  *reorg = 0;
  *fork = now.height;
  if (!chain_.started() || !a_->has_blocks()) {
    chain_.start(now.height, now.tip);
    return out;
  }
  auto step = chain_.follow(*a_, now);
  *reorg = step.reorg_depth;
  *fork = step.fork;
  for (const auto& b : step.blocks)
    out.push_back(block_json(b));
  return out;
}

/// The hash `finality_depth` blocks below the tip: from the chain when it holds it, else
/// asked (only when the tip moved, so a quiet node costs one status call per poll).
std::string node_watch::final_tip(const node_status& now) {
  const auto depth = spec_.finality_depth;
  if (depth == 0)
    return now.tip;
  if (now.height < depth)
    return {};
  if (auto* hash = chain_.hash_at(now.height - depth))
    return *hash;
  return a_->has_blocks() ? a_->block_at(now.height - depth).hash : std::string{};
}

std::optional<json> node_watch::poll(bool running) {
  ++polls_;
  json now{{"up", false}};
  json extra = json::object();
  if (running) {
    try {
      if (!a_)
        a_ = adapters::make_adapter(spec_.adapter, spec_.id, spec_.timeout, "watch.adapter");
      auto st = a_->status();
      now = json{{"up", true},
                 {"height", st.height},
                 {"tip", st.tip},
                 {"peers", st.peers},
                 {"mempool", st.mempool}};
      const bool tip_moved =
        chain_.behind() || !last_ || last_->value("tip", std::string{}) != st.tip;
      if (tip_moved) {
        uint32_t reorg = 0;
        uint64_t fork = 0;
        auto blocks = new_blocks(st, &reorg, &fork);
        // Present whenever the tip of a node with real blocks moved (empty on the first
        // summary, or when the node switched chains while it was read).
        if (a_->has_blocks()) {
          extra["blocks"] = std::move(blocks);
          extra["reorg_depth"] = reorg;
          if (reorg > 0)
            extra["fork"] = fork;
        }
        final_ = final_tip(st);
      }
      now["final_tip"] = final_;
    } catch (const adapters::rpc_error& e) {
      // The node may be starting or overloaded: down until a call succeeds, on a fresh
      // connection (the old one may have died with the old process).
      now = json{{"up", false}};
      extra["error"] = e.what();
      a_.reset();
    }
  } else {
    a_.reset();
  }
  // A summary goes out when something changed, or when it carries blocks (a walk that
  // resumed below an unchanged tip).
  const bool carries_blocks =
    extra.contains("blocks") && (!extra["blocks"].empty() || extra.contains("fork"));
  if (last_ && *last_ == now && !carries_blocks)
    return std::nullopt;
  last_ = now;
  ++summaries_;
  json out = now;
  out["slot"] = spec_.slot;
  out["id"] = spec_.id;
  for (auto& [k, v] : extra.items())
    out[k] = v;
  return out;
}

// -- watcher --------------------------------------------------------------------

watcher::watcher(send_fn send, running_fn running)
  : send_(std::move(send))
  , running_(std::move(running))
  , thread_([this] { loop(); }) {}

watcher::~watcher() { stop(); }

void watcher::add(watch_spec s) {
  auto slot = s.slot;
  auto w = std::make_shared<node_watch>(std::move(s));
  std::lock_guard<std::mutex> guard{mutex_};
  watches_[slot] = entry{std::move(w), std::chrono::steady_clock::now()};
  changed_.notify_all();
}

void watcher::remove(size_t slot) {
  std::lock_guard<std::mutex> guard{mutex_};
  watches_.erase(slot);
  changed_.notify_all();
}

void watcher::clear() {
  std::lock_guard<std::mutex> guard{mutex_};
  watches_.clear();
  changed_.notify_all();
}

json watcher::stats() const {
  json out = json::array();
  std::lock_guard<std::mutex> guard{mutex_};
  for (const auto& [slot, e] : watches_)
    out.push_back(json{{"slot", slot},
                       {"id", e.w->spec().id},
                       {"polls", e.w->polls()},
                       {"summaries", e.w->summaries()}});
  return out;
}

void watcher::stop() noexcept {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
    changed_.notify_all();
  }
  if (thread_.joinable())
    thread_.join();
}

void watcher::loop() {
  std::unique_lock<std::mutex> lock{mutex_};
  while (!stopping_) {
    // The watch due first (the lowest slot among equals: a fixed order).
    auto next = watches_.end();
    for (auto it = watches_.begin(); it != watches_.end(); ++it)
      if (next == watches_.end() || it->second.due < next->second.due)
        next = it;
    if (next == watches_.end()) {
      changed_.wait(lock);
      continue;
    }
    if (next->second.due > std::chrono::steady_clock::now()) {
      changed_.wait_until(lock, next->second.due);
      continue;
    }
    auto w = next->second.w;
    next->second.due = std::chrono::steady_clock::now() + w->spec().interval;
    // Outside the lock: an adapter call may take up to its timeout.
    lock.unlock();
    std::optional<json> summary;
    try {
      summary = w->poll(running_(w->spec().slot));
    } catch (const std::exception&) {
      // Settings that cannot make an adapter were refused by add(); nothing else throws.
    }
    if (summary)
      send_(*summary);
    lock.lock();
  }
}

} // namespace troupe::backends::agent
