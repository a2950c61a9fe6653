#include "backends/agent/reverse_reach.hpp"

namespace troupe::backends::agent {

using nlohmann::json;

void reverse_reach::add_host(std::shared_ptr<connection> agent, tunnel_pool_options where) {
  std::lock_guard<std::mutex> guard{mutex_};
  hosts_.push_back({std::move(agent), std::move(where), nullptr, {}, json::array()});
}

void reverse_reach::replace_host(size_t host, std::shared_ptr<connection> agent,
                                 tunnel_pool_options where) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (host >= hosts_.size())
    return;
  auto& h = hosts_[host];
  if (h.pool) {
    h.pool->close();
    h.replaced.push_back(h.pool->stats());
  }
  h.agent = std::move(agent);
  h.where = std::move(where);
  h.pool.reset();
  h.ports.clear(); // the old agent's ports went with it: the next reach() asks the new one
}

std::string reverse_reach::reach(size_t host, uint16_t port) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (host >= hosts_.size() || !hosts_[host].agent)
    throw agent_error("there is no agent of host " + std::to_string(host) +
                      " to tunnel this machine's port " + std::to_string(port) + " through");
  auto& h = hosts_[host];
  auto known = h.ports.find(port);
  if (known == h.ports.end()) {
    // The agent's port first (an agent too old for tunnels says so at once), then the
    // parked connections: a command that dials meanwhile waits for one at the agent.
    json r;
    try {
      r = h.agent->call("tunnel_listen", {{"to_port", port}});
    } catch (const agent_error& e) {
      std::string why = e.what();
      if (why.find("no op") != std::string::npos)
        why += " (an agent older than this troupe: rebuild its image with troupe image build)";
      throw agent_error(h.where.what + " opened no reverse tunnel: " + why);
    }
    const auto there = r.value("port", 0);
    if (there <= 0 || there > 65535)
      throw agent_error(h.where.what + " answered tunnel_listen without a port");
    if (!h.pool)
      h.pool = std::make_unique<tunnel_pool>(h.where);
    h.pool->allow(port);
    known = h.ports.emplace(port, static_cast<uint16_t>(there)).first;
  }
  return "127.0.0.1:" + std::to_string(known->second);
}

void reverse_reach::close() noexcept {
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto& h : hosts_)
    if (h.pool)
      h.pool->close();
  hosts_.clear();
}

json reverse_reach::stats() const {
  std::lock_guard<std::mutex> guard{mutex_};
  json out = json::array();
  for (size_t i = 0; i < hosts_.size(); ++i) {
    const auto& h = hosts_[i];
    if (!h.pool && h.replaced.empty())
      continue;
    json ports = json::object();
    for (const auto& [here, there] : h.ports)
      ports[std::to_string(here)] = there;
    json one{{"host", i}, {"ports", ports}, {"tunnels", h.pool ? h.pool->stats() : json::object()}};
    if (!h.replaced.empty())
      one["replaced_agents_tunnels"] = h.replaced;
    out.push_back(std::move(one));
  }
  return out;
}

} // namespace troupe::backends::agent
