#include "backends/agent/multi_fabric.hpp"

#include <algorithm>
#include <exception>

#include "backends/agent/for_each_bounded.hpp"

namespace troupe::backends::agent {

namespace {

constexpr size_t hosts_at_once_max = 64;

/// Adds what `b` counted to `a` (the same directed link, relayed on another host).
void add_counts(link_stats& a, const link_stats& b) {
  a.bytes_relayed += b.bytes_relayed;
  a.bytes_dropped += b.bytes_dropped;
  a.bytes_lost += b.bytes_lost;
  a.bytes_held += b.bytes_held;
  a.bytes_held_total += b.bytes_held_total;
  a.chunks += b.chunks;
  a.connections += b.connections;
  a.connections_refused += b.connections_refused;
  a.connections_cut += b.connections_cut;
  for (size_t i = 0; i < a.delay_counts.size(); ++i)
    a.delay_counts[i] += b.delay_counts[i];
  a.delay_ms_sum += b.delay_ms_sum;
  a.delay_ms_max = std::max(a.delay_ms_max, b.delay_ms_max);
  // A cut on either host is a cut of the link.
  if (b.mode != link_mode::open)
    a.mode = b.mode;
}

} // namespace

size_t multi_fabric::add_host(std::shared_ptr<connection> c) {
  hosts_.push_back(std::make_unique<remote_fabric>(std::move(c), seed_));
  return hosts_.size() - 1;
}

multi_fabric::pair_key multi_fabric::key_of(const std::string& a, const std::string& b) {
  return a < b ? pair_key{a, b} : pair_key{b, a};
}

uint16_t multi_fabric::add_relay(size_t host, const std::string& from, const std::string& to,
                                 uint16_t target_port, uint16_t listen_port, uint32_t listen_addr,
                                 uint32_t target_addr) {
  auto port =
    hosts_.at(host)->add_relay(from, to, target_port, listen_port, listen_addr, target_addr);
  std::lock_guard<std::mutex> guard{mutex_};
  relayed_by_[key_of(from, to)].insert(host);
  relaying_.insert(host);
  specs_.push_back({host, from, to, target_port, port, listen_addr, target_addr});
  return port;
}

multi_fabric::reattached multi_fabric::reattach_host(size_t host, std::shared_ptr<connection> c,
                                                     uint32_t listen_addr,
                                                     const std::vector<std::string>& nodes) {
  std::lock_guard<std::mutex> changing{changing_};
  auto& f = *hosts_.at(host);
  f.reattach(std::move(c));
  std::vector<relay_spec> specs;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    specs = specs_;
  }
  reattached out;
  for (auto& r : specs)
    if (r.host == host) {
      f.add_relay(r.from, r.to, r.target_port, r.listen_port, listen_addr, r.target_addr);
      ++out.relays_made_again;
    }
  const bool relays = out.relays_made_again > 0;
  if (relays)
    f.start();
  // What the links of this host's relays went through so far, again, in order.
  for (const auto& changes : history_) {
    if (changes.empty()) {
      if (relays)
        f.heal_all();
      continue;
    }
    std::vector<link_change> here;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      for (const auto& ch : changes)
        if (auto it = relayed_by_.find(key_of(ch.from, ch.to));
            it != relayed_by_.end() && it->second.count(host))
          here.push_back(ch);
    }
    if (!here.empty())
      f.apply(here);
  }
  // The other hosts' relays to this host's nodes dial its new address.
  std::set<std::pair<size_t, std::string>> retargeted;
  for (const auto& r : specs)
    if (r.host != host && std::find(nodes.begin(), nodes.end(), r.to) != nodes.end() &&
        retargeted.insert({r.host, r.to}).second)
      out.relays_pointed_here += hosts_.at(r.host)->retarget(r.to, listen_addr);
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto& r : specs_) {
    if (r.host == host)
      r.listen_addr = listen_addr;
    else if (retargeted.count({r.host, r.to}))
      r.target_addr = listen_addr;
  }
  return out;
}

void multi_fabric::on_hosts(const std::vector<size_t>& hosts,
                            const std::function<void(size_t)>& fn) {
  if (hosts.size() == 1) {
    fn(hosts.front()); // the local backend's one agent: no thread for it
    return;
  }
  std::vector<std::exception_ptr> errors(hosts.size());
  for_each_bounded(hosts.size(), hosts_at_once_max, [&](size_t k) {
    try {
      fn(hosts[k]);
    } catch (...) {
      errors[k] = std::current_exception();
    }
  });
  for (auto& e : errors)
    if (e)
      std::rethrow_exception(e);
}

void multi_fabric::on_relaying_hosts(const std::function<void(size_t)>& fn) const {
  std::vector<size_t> hosts;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    hosts.assign(relaying_.begin(), relaying_.end());
  }
  on_hosts(hosts, fn);
}

void multi_fabric::start() {
  on_relaying_hosts([&](size_t h) { hosts_[h]->start(); });
}

void multi_fabric::stop() noexcept {
  try {
    on_relaying_hosts([&](size_t h) { hosts_[h]->stop(); });
  } catch (...) {
    // remote_fabric::stop never throws; nothing else can.
  }
}

void multi_fabric::apply(const std::vector<link_change>& changes) {
  if (changes.empty())
    return;
  std::lock_guard<std::mutex> changing{changing_};
  history_.push_back(changes);
  std::map<size_t, std::vector<link_change>> by_host;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (const auto& c : changes)
      if (auto it = relayed_by_.find(key_of(c.from, c.to)); it != relayed_by_.end())
        for (auto h : it->second)
          by_host[h].push_back(c);
  }
  std::vector<size_t> hosts;
  for (const auto& kv : by_host)
    hosts.push_back(kv.first);
  on_hosts(hosts, [&](size_t h) { hosts_[h]->apply(by_host.at(h)); });
}

void multi_fabric::heal_all() {
  std::lock_guard<std::mutex> changing{changing_};
  history_.emplace_back();
  on_relaying_hosts([&](size_t h) { hosts_[h]->heal_all(); });
}

std::vector<link_stats> multi_fabric::stats() const {
  std::vector<link_stats> out;
  std::map<std::pair<std::string, std::string>, size_t> index;
  for (const auto& h : hosts_) {
    if (h->relay_count() == 0)
      continue;
    std::vector<link_stats> one;
    try {
      one = h->stats();
    } catch (const std::exception&) {
      continue; // its agent is gone, and its relays with it
    }
    for (auto& s : one) {
      auto [it, fresh] = index.emplace(std::pair{s.from, s.to}, out.size());
      if (fresh)
        out.push_back(std::move(s));
      else
        add_counts(out[it->second], s);
    }
  }
  return out;
}

nlohmann::json multi_fabric::stats_json() const {
  return agent::stats_json(stats(), relay_count());
}

size_t multi_fabric::relay_count() const {
  size_t n = 0;
  for (const auto& h : hosts_)
    n += h->relay_count();
  return n;
}

size_t multi_fabric::open_connections() const {
  size_t n = 0;
  for (const auto& h : hosts_)
    if (h->relay_count() > 0)
      n += h->open_connections();
  return n;
}

} // namespace troupe::backends::agent
