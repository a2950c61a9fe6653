#include "backends/ssh/ssh_hosts.hpp"

#include <arpa/inet.h>

#include <mutex>

#include "actors/errors.hpp"
#include "actors/units.hpp"
#include "backends/agent/for_each_bounded.hpp"
#include "backends/agent/remote_netns.hpp"
#include "backends/ssh/ssh_backend.hpp"

namespace troupe::backends::ssh {

namespace {

/// The address of every host as an IPv4 number (host byte order), or user_error naming the
/// host: its nodes and relays bind to it.
std::vector<uint32_t> ipv4_of(const inventory& inv) {
  std::vector<uint32_t> out;
  for (const auto& h : inv.hosts) {
    in_addr a{};
    if (::inet_pton(AF_INET, h.address.c_str(), &a) != 1)
      throw user_error("host " + h.describe() + ": its address \"" + h.address +
                       "\" is not an IPv4 address, and the ssh backend binds the host's nodes and "
                       "link relays to it: give its IPv4 address in " +
                       inv.source.string());
    out.push_back(ntohl(a.s_addr));
  }
  return out;
}

/// The connections' event handlers, set once the usable hosts are known (an agent may speak,
/// to say it is gone, before).
struct routes {
  std::mutex mutex;
  std::vector<agent::connection::event_handler> by_fleet_host;
};

} // namespace

local::local_options ssh_hosts::options(const scenario& s) const {
  return read_section(s.backend.name == "ssh" ? s.backend.params : nlohmann::json::object(),
                      "backend", read_options)
    .local;
}

local::host_limits ssh_hosts::ssh_limits(const netns_answers& answers) {
  local::host_limits l;
  // Each host's agent makes its nodes' namespaces, as the user it runs as there: this
  // machine's own answer says nothing about the hosts.
  l.netns_here = false;
  for (const auto& [name, why] : answers)
    if (why) {
      l.no_netns = "host " + name + " cannot give its nodes network namespaces: " + *why;
      break;
    }
  return l;
}

ssh_hosts::netns_answers ssh_hosts::ask_netns(const std::vector<started>& hosts) const {
  std::vector<bool> runs_nodes(hosts.size(), false);
  for (auto h : placement_)
    runs_nodes.at(h) = true;
  netns_answers out(hosts.size());
  agent::for_each_bounded(hosts.size(), 32, [&](size_t h) {
    out[h].first = hosts[h].where.name + " (" + hosts[h].where.address + ")";
    if (!runs_nodes[h])
      return;
    try {
      out[h].second = agent::remote_netns{hosts[h].agent}.refusal();
    } catch (const std::exception& e) {
      out[h].second = std::string("its agent did not answer whether it can: ") + e.what();
    }
  });
  return out;
}

std::vector<local::hosts::started> ssh_hosts::start(const scenario& s,
                                                    const expanded_topology& topo,
                                                    const run_env& env, const local::local_options&,
                                                    const handler_for& on_event) {
  auto p = plan(s, topo);
  p.hosts = hosts_of(p, topo, env);
  const auto addresses = ipv4_of(p.hosts);
  log_tail_bytes_ = p.options.log_tail_bytes;
  fleet_options fo;
  fo.run_dir = env.run_dir;
  fo.remote_dir = p.options.remote_dir;
  fo.parallel = p.options.parallel;
  fo.hosts_min = p.options.hosts_min;
  fo.host_keys = p.options.host_keys;
  fo.connect_timeout = p.options.connect_timeout;
  fo.attempts = p.options.attempts;
  fo.troupe_binary =
    p.options.agent_binary.empty() ? local::agent_binary_default() : p.options.agent_binary;
  if (provisioned_)
    fo.expires_at = provisioned_->expires_at();
  fleet_ = std::make_unique<fleet>(p.hosts, fo);
  fleet_->connect();
  auto r = std::make_shared<routes>();
  r->by_fleet_host.resize(p.hosts.hosts.size());
  fleet_->start_agents([r](size_t i) {
    return [r, i](const nlohmann::json& e) {
      agent::connection::event_handler h;
      {
        std::lock_guard<std::mutex> guard{r->mutex};
        h = r->by_fleet_host[i];
      }
      if (h)
        h(e);
    };
  });

  // The nodes go to the hosts that are usable now (hosts_min lets the others fail).
  std::vector<started> out;
  fleet_index_.clear();
  inventory usable = p.hosts;
  usable.hosts.clear();
  hosts_info_ = nlohmann::json::array();
  for (size_t i = 0; i < fleet_->hosts().size(); ++i) {
    const auto& fh = fleet_->hosts()[i];
    hosts_info_.push_back({{"name", fh.host.name},
                           {"address", fh.host.address},
                           {"port", fh.host.port},
                           {"troupe_copied", fh.copied},
                           {"error", fh.error},
                           {"nodes", nlohmann::json::array()}});
    if (!fh.error.empty() || !fh.agent)
      continue;
    {
      std::lock_guard<std::mutex> guard{r->mutex};
      r->by_fleet_host[i] = on_event(out.size());
    }
    usable.hosts.push_back(fh.host);
    fleet_index_.push_back(i);
    started st;
    st.where.name = fh.host.name;
    st.where.address = fh.host.address;
    st.where.ipv4 = addresses[i];
    st.where.nodes_dir = fleet_->remote_run_dir(i) + "/nodes";
    st.where.remote = true;
    st.agent = fh.agent;
    out.push_back(std::move(st));
  }
  placement_ = place(topo, usable, p.options.placement).host_of;
  for (size_t n = 0; n < placement_.size(); ++n)
    hosts_info_[fleet_index_[placement_[n]]]["nodes"].push_back(topo.nodes[n].id);
  limits_ = ssh_limits(ask_netns(out));
  return out;
}

inventory ssh_hosts::hosts_of(const ssh_plan& p, const expanded_topology& topo,
                              const run_env& env) {
  if (!p.options.provisioner)
    return p.hosts;
  provisioned_ = std::make_unique<provisioned_hosts>(*p.options.provisioner, env.run_dir);
  return provisioned_->create(topo.nodes.size());
}

void ssh_hosts::close() noexcept {
  if (fleet_)
    fleet_->close();
  fleet_.reset();
  if (provisioned_)
    provisioned_->destroy();
  provisioned_.reset();
}

std::optional<std::string> ssh_hosts::ended() const {
  if (!provisioned_ || provisioned_->expires_at() == 0)
    return std::nullopt;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  if (now < provisioned_->expires_at())
    return std::nullopt;
  return "the provisioned hosts' time-to-live (backend.provisioner.ttl " +
         format_duration(provisioned_->options().ttl) +
         ") ran out before the run ended: their agents stopped the nodes and the hosts are "
         "destroyed; raise the ttl above the deploy time plus the scenario's duration";
}

void ssh_hosts::add_results(nlohmann::json& out) const {
  if (!hosts_info_.is_null())
    out["hosts"] = hosts_info_;
}

std::string ssh_hosts::reach_here(size_t host, uint16_t port) {
  std::lock_guard<std::mutex> guard{forwards_mutex_};
  auto& known = forwards_[{host, port}];
  if (known.empty()) {
    if (!fleet_ || host >= fleet_index_.size())
      throw user_error("the ssh backend has no host " + std::to_string(host) + " to forward to");
    const auto& fh = fleet_->hosts()[fleet_index_[host]];
    try {
      known = "127.0.0.1:" + std::to_string(fh.master->forward_here(port));
    } catch (const host_error& e) {
      throw user_error(e.what());
    }
  }
  return known;
}

} // namespace troupe::backends::ssh
