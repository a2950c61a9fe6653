#include "backends/agent/remote_supervisor.hpp"

#include "backends/agent/payloads.hpp"
#include "backends/agent/protocol.hpp"

namespace troupe::backends::agent {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr auto kill_wait = std::chrono::seconds(5); // as the supervisor's own SIGKILL wait

/// Adds a node to agent `c`, which must number it `slot`.
void add_numbered(connection& c, const local::process_options& opts, milliseconds stop_grace,
                  size_t slot) {
  const auto got = field<size_t>(c.call("add_node", to_json(node_spec{opts, stop_grace})), "slot");
  if (got != slot)
    throw agent_error(c.describe() + " numbered node " + opts.id + " " + std::to_string(got) +
                      ", not " + std::to_string(slot) +
                      ": was it started for another orchestrator?");
}

} // namespace

void remote_supervisor::on_event(const json& e) {
  const auto name = field_or<std::string>(e, "event", "");
  const auto slot = field_or<size_t>(e, "slot", SIZE_MAX);
  std::lock_guard<std::mutex> guard{mutex_};
  if (name == "agent_gone") {
    // Its nodes went with it (their parent-death signal, or its own teardown).
    for (auto& s : slots_)
      if (s->state == process_state::running || s->state == process_state::paused) {
        s->state = process_state::exited;
        s->status = "lost with its agent: " + field_or<std::string>(e, "reason", "");
      }
    changed_.notify_all();
    return;
  }
  if (slot >= slots_.size())
    return;
  auto& s = *slots_[slot];
  const pid_t pid = field_or<pid_t>(e, "pid", -1);
  if (name == "node_started") {
    s.state = process_state::running;
    s.pid = pid;
    s.status.clear();
    spawned_.push_back(pid);
  } else if (name == "node_paused") {
    s.state = process_state::paused;
  } else if (name == "node_resumed") {
    s.state = process_state::running;
  } else if (name == "node_exited") {
    s.state = process_state::exited;
    s.status = field_or<std::string>(e, "status", "exited");
  }
  changed_.notify_all();
}

// -- processes ------------------------------------------------------------------

std::shared_ptr<connection> remote_supervisor::conn() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return conn_;
}

void remote_supervisor::reattach(std::shared_ptr<connection> c,
                                 std::vector<local::process_options> opts) {
  std::vector<milliseconds> graces;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (opts.size() != slots_.size())
      throw std::logic_error("remote_supervisor::reattach: " + std::to_string(opts.size()) +
                             " nodes for " + std::to_string(slots_.size()) + " slots");
    for (const auto& s : slots_)
      graces.push_back(s->stop_grace);
  }
  // The new agent numbers them as the old one did: in the order they were added.
  for (size_t i = 0; i < opts.size(); ++i)
    add_numbered(*c, opts[i], graces[i], i);
  std::lock_guard<std::mutex> guard{mutex_};
  conn_ = std::move(c);
  for (size_t i = 0; i < opts.size(); ++i) {
    auto& s = *slots_[i];
    s.opts = std::move(opts[i]);
    s.state = process_state::idle;
    s.pid = -1;
    s.status.clear();
  }
  changed_.notify_all();
}

size_t remote_supervisor::add(local::process_options opts, milliseconds stop_grace) {
  auto c = conn();
  size_t slot = 0;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    slot = slots_.size(); // nodes are added one at a time, before any runs
  }
  add_numbered(*c, opts, stop_grace, slot);
  auto v = std::make_unique<slot_view>();
  v->opts = std::move(opts);
  v->stop_grace = stop_grace;
  std::lock_guard<std::mutex> guard{mutex_};
  slots_.push_back(std::move(v));
  return slot;
}

void remote_supervisor::start(size_t slot) { conn()->call("start", {{"slot", slot}}); }

bool remote_supervisor::control(const char* op, size_t slot, json extra,
                                milliseconds timeout) noexcept {
  try {
    extra["slot"] = slot;
    conn()->call(op, std::move(extra), timeout);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

bool remote_supervisor::stop(size_t slot, milliseconds grace) {
  return control("stop", slot, {{"grace_ms", grace.count()}}, grace + 2 * kill_wait);
}

bool remote_supervisor::kill(size_t slot) {
  return control("kill", slot, json::object(), 2 * kill_wait);
}

bool remote_supervisor::pause(size_t slot) { return control("pause", slot); }

bool remote_supervisor::resume(size_t slot) { return control("resume", slot); }

void remote_supervisor::stop_all(milliseconds grace) noexcept {
  try {
    conn()->call("stop_all", {{"grace_ms", grace.count()}}, grace + 2 * kill_wait);
  } catch (const std::exception&) {
    // The agent is gone: its own end of stream stopped them (and their parent-death signal).
  }
}

// -- observation ----------------------------------------------------------------

remote_supervisor::process_state remote_supervisor::state(size_t slot) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return slots_.at(slot)->state;
}

pid_t remote_supervisor::pid(size_t slot) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return slots_.at(slot)->pid;
}

std::vector<pid_t> remote_supervisor::live_pids() const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::vector<pid_t> out;
  for (const auto& s : slots_)
    if (s->state == process_state::running || s->state == process_state::paused)
      out.push_back(s->pid);
  return out;
}

std::vector<pid_t> remote_supervisor::all_pids() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return spawned_;
}

std::string remote_supervisor::exit_description(size_t slot) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& s = *slots_.at(slot);
  return s.state == process_state::exited ? s.status : "still running";
}

bool remote_supervisor::wait_exit(size_t slot, milliseconds timeout) const {
  std::unique_lock<std::mutex> lock{mutex_};
  auto& s = *slots_.at(slot);
  return changed_.wait_for(lock, timeout, [&] {
    return s.state == process_state::exited || s.state == process_state::idle;
  });
}

void remote_supervisor::wait_log_drained(size_t slot, milliseconds timeout) const {
  try {
    conn()->call("wait_log_drained", {{"slot", slot}, {"timeout_ms", timeout.count()}},
                 timeout + std::chrono::seconds(5));
  } catch (const std::exception&) {
    // Best effort, as the supervisor's: the log is read as it is.
  }
}

std::string remote_supervisor::log_tail(size_t slot, size_t lines) const {
  try {
    return field_or<std::string>(conn()->call("log_tail", {{"slot", slot}, {"lines", lines}}),
                                 "text", "");
  } catch (const std::exception& e) {
    return std::string("(the log is out of reach: ") + e.what() + ")";
  }
}

std::string remote_supervisor::log_tail_bytes(size_t slot, size_t bytes) const {
  try {
    return field_or<std::string>(conn()->call("log_tail", {{"slot", slot}, {"bytes", bytes}}),
                                 "text", "");
  } catch (const std::exception& e) {
    return std::string("(the log is out of reach: ") + e.what() + ")\n";
  }
}

const local::process_options& remote_supervisor::options(size_t slot) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return slots_.at(slot)->opts;
}

size_t remote_supervisor::size() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return slots_.size();
}

} // namespace troupe::backends::agent
