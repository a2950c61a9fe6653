#include "backends/agent/multi_supervisor.hpp"

#include "backends/agent/for_each_bounded.hpp"

namespace troupe::backends::agent {

using std::chrono::milliseconds;

namespace {

/// Hosts whose nodes stop at once (each waits its nodes' grace).
constexpr size_t hosts_stopping_max = 64;

} // namespace

// -- hosts ----------------------------------------------------------------------

size_t multi_supervisor::add_host(std::shared_ptr<connection> c) {
  host h;
  h.sup = std::make_unique<remote_supervisor>();
  h.sup->attach(c);
  h.agent = std::move(c);
  std::lock_guard<std::mutex> guard{mutex_};
  hosts_.push_back(std::move(h));
  return hosts_.size() - 1;
}

void multi_supervisor::on_event(size_t host, const nlohmann::json& e) {
  remote_supervisor* s = nullptr;
  {
    // An agent may end (agent_gone) while the hosts after it are still being added.
    std::lock_guard<std::mutex> guard{mutex_};
    if (host < hosts_.size())
      s = hosts_[host].sup.get();
  }
  if (s)
    s->on_event(e);
}

size_t multi_supervisor::hosts() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return hosts_.size();
}

std::shared_ptr<connection> multi_supervisor::agent(size_t host) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return hosts_.at(host).agent;
}

void multi_supervisor::reattach_host(size_t host, std::shared_ptr<connection> c,
                                     std::vector<local::process_options> opts) {
  sup(host).reattach(c, std::move(opts));
  std::lock_guard<std::mutex> guard{mutex_};
  hosts_.at(host).agent = std::move(c);
}

// -- slots ----------------------------------------------------------------------

size_t multi_supervisor::add(size_t host, local::process_options opts, milliseconds stop_grace) {
  const auto own = sup(host).add(std::move(opts), stop_grace);
  std::lock_guard<std::mutex> guard{mutex_};
  slots_.push_back({host, own});
  auto& map = hosts_.at(host).slots;
  if (map.size() <= own)
    map.resize(own + 1, SIZE_MAX);
  map[own] = slots_.size() - 1;
  return slots_.size() - 1;
}

multi_supervisor::place multi_supervisor::at(size_t slot) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return slots_.at(slot);
}

size_t multi_supervisor::host_of(size_t slot) const { return at(slot).host; }

size_t multi_supervisor::host_slot(size_t slot) const { return at(slot).host_slot; }

size_t multi_supervisor::slot_of(size_t host, size_t host_slot) const {
  std::lock_guard<std::mutex> guard{mutex_};
  if (host >= hosts_.size() || host_slot >= hosts_[host].slots.size())
    return SIZE_MAX;
  return hosts_[host].slots[host_slot];
}

// -- processes ------------------------------------------------------------------

void multi_supervisor::start(size_t slot) {
  auto p = at(slot);
  sup(p.host).start(p.host_slot);
}

bool multi_supervisor::stop(size_t slot, milliseconds grace) {
  auto p = at(slot);
  return sup(p.host).stop(p.host_slot, grace);
}

bool multi_supervisor::kill(size_t slot) {
  auto p = at(slot);
  return sup(p.host).kill(p.host_slot);
}

bool multi_supervisor::pause(size_t slot) {
  auto p = at(slot);
  return sup(p.host).pause(p.host_slot);
}

bool multi_supervisor::resume(size_t slot) {
  auto p = at(slot);
  return sup(p.host).resume(p.host_slot);
}

void multi_supervisor::stop_all(milliseconds grace) noexcept {
  for_each_bounded(hosts_.size(), hosts_stopping_max,
                   [&](size_t h) { hosts_[h].sup->stop_all(grace); });
}

// -- observation ----------------------------------------------------------------

multi_supervisor::process_state multi_supervisor::state(size_t slot) const {
  auto p = at(slot);
  return sup(p.host).state(p.host_slot);
}

pid_t multi_supervisor::pid(size_t slot) const {
  auto p = at(slot);
  return sup(p.host).pid(p.host_slot);
}

std::vector<pid_t> multi_supervisor::live_pids() const {
  std::vector<pid_t> out;
  for (const auto& h : hosts_)
    for (auto pid : h.sup->live_pids())
      out.push_back(pid);
  return out;
}

std::vector<pid_t> multi_supervisor::all_pids() const {
  std::vector<pid_t> out;
  for (const auto& h : hosts_)
    for (auto pid : h.sup->all_pids())
      out.push_back(pid);
  return out;
}

std::string multi_supervisor::exit_description(size_t slot) const {
  auto p = at(slot);
  return sup(p.host).exit_description(p.host_slot);
}

bool multi_supervisor::wait_exit(size_t slot, milliseconds timeout) const {
  auto p = at(slot);
  return sup(p.host).wait_exit(p.host_slot, timeout);
}

void multi_supervisor::wait_log_drained(size_t slot, milliseconds timeout) const {
  auto p = at(slot);
  sup(p.host).wait_log_drained(p.host_slot, timeout);
}

std::string multi_supervisor::log_tail(size_t slot, size_t lines) const {
  auto p = at(slot);
  return sup(p.host).log_tail(p.host_slot, lines);
}

std::string multi_supervisor::log_tail_bytes(size_t slot, size_t bytes) const {
  auto p = at(slot);
  return sup(p.host).log_tail_bytes(p.host_slot, bytes);
}

const local::process_options& multi_supervisor::options(size_t slot) const {
  auto p = at(slot);
  return sup(p.host).options(p.host_slot);
}

size_t multi_supervisor::size() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return slots_.size();
}

} // namespace troupe::backends::agent
