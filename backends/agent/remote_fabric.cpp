#include "backends/agent/remote_fabric.hpp"

#include "backends/agent/payloads.hpp"
#include "backends/agent/protocol.hpp"

namespace troupe::backends::agent {

using nlohmann::json;

uint16_t remote_fabric::add_relay(const std::string& from, const std::string& to,
                                  uint16_t target_port, uint16_t listen_port, uint32_t listen_addr,
                                  uint32_t target_addr) {
  auto r = conn()->call("add_relay", {{"from", from},
                                      {"to", to},
                                      {"target_port", target_port},
                                      {"listen_port", listen_port},
                                      {"listen_addr", listen_addr},
                                      {"target_addr", target_addr},
                                      {"seed", seed_}});
  std::lock_guard<std::mutex> guard{mutex_};
  ++relays_;
  return field<uint16_t>(r, "port");
}

std::shared_ptr<connection> remote_fabric::conn() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return conn_;
}

void remote_fabric::reattach(std::shared_ptr<connection> c) {
  std::lock_guard<std::mutex> guard{mutex_};
  conn_ = std::move(c);
  relays_ = 0;
}

size_t remote_fabric::retarget(const std::string& to, uint32_t target_addr) {
  return field_or<size_t>(
    conn()->call("retarget_relays", {{"to", to}, {"target_addr", target_addr}}), "relays", 0);
}

void remote_fabric::start() { conn()->call("fabric_start"); }

void remote_fabric::stop() noexcept {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (stopped_)
      return;
  }
  std::vector<link_stats> last;
  try {
    last = stats();
    conn()->call("fabric_stop");
  } catch (const std::exception&) {
    // The agent is gone, and its relays with it; the stats are what it last told.
  }
  std::lock_guard<std::mutex> guard{mutex_};
  stopped_ = true;
  if (!last.empty())
    last_ = std::move(last);
}

void remote_fabric::apply(const std::vector<link_change>& changes) {
  json list = json::array();
  for (const auto& c : changes)
    list.push_back(to_json(c));
  conn()->call("apply", {{"changes", list}});
}

void remote_fabric::heal_all() { conn()->call("heal_all"); }

std::vector<link_stats> remote_fabric::stats() const {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (stopped_)
      return last_;
  }
  std::vector<link_stats> out;
  const auto result = conn()->call("fabric_stats"); // named: the loop reads into it
  for (const auto& l : result.at("links"))
    out.push_back(link_stats_from_json(l));
  return out;
}

json remote_fabric::stats_json() const {
  std::vector<link_stats> all;
  try {
    all = stats();
  } catch (const std::exception&) {
    std::lock_guard<std::mutex> guard{mutex_};
    all = last_;
  }
  return agent::stats_json(all, relay_count());
}

size_t remote_fabric::relay_count() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return relays_;
}

size_t remote_fabric::open_connections() const {
  return field_or<size_t>(conn()->call("fabric_stats"), "open_connections", 0);
}

} // namespace troupe::backends::agent
