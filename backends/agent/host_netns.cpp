#include "backends/agent/host_netns.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace troupe::backends::agent {

namespace {

/// Held while one agent chooses its block and makes its namespaces: the agents of one kernel
/// (several runs, or the tests' several hosts) then never choose in between another's look at
/// the addresses and its first veth, nor race `ip netns add` while /run/netns is first mounted.
class host_lock {
public:
  host_lock() {
    for (const char* path : {"/run/troupe-netns.lock", "/tmp/troupe-netns.lock"}) {
      fd_ = ::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd_ >= 0)
        break;
    }
    if (fd_ < 0)
      return; // no lock to take: the namespaces are still made, only not serialised
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (std::chrono::steady_clock::now() > give_up)
        throw std::runtime_error("another troupe agent on this host has held "
                                 "/run/troupe-netns.lock for 60 s while making its namespaces");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~host_lock() {
    if (fd_ >= 0)
      ::close(fd_); // releases the lock
  }
  host_lock(const host_lock&) = delete;
  host_lock& operator=(const host_lock&) = delete;

private:
  int fd_ = -1;
};

} // namespace

host_netns::~host_netns() { remove(); }

std::vector<host_netns::made> host_netns::make(const std::string& tag,
                                               const std::vector<size_t>& indices) {
  if (auto why = netns_refusal())
    throw std::runtime_error(*why);
  std::lock_guard<std::mutex> guard{mutex_};
  std::vector<std::string> names;
  for (auto i : indices) {
    if (netns_.count(i))
      throw std::runtime_error("node " + std::to_string(i) + " has its namespace already");
    names.push_back(netns_name(tag, i));
  }
  if (names.empty())
    return {};
  janitors_.push_back(std::make_unique<netns_janitor>(names));
  host_lock serialised;
  auto block = blocks_.find(tag);
  if (block == blocks_.end())
    block = blocks_.emplace(tag, choose_block(tag)).first;
  std::vector<made> out;
  for (auto i : indices) {
    auto made_here = std::make_unique<node_netns>(tag, block->second, i);
    auto& ns = netns_[i] = std::move(made_here);
    out.push_back({i, ns->name(), ns->root_addr(), ns->inner_addr(), ns->exec_prefix()});
  }
  return out;
}

node_netns& host_netns::at(size_t index) const {
  auto it = netns_.find(index);
  if (it == netns_.end())
    throw std::runtime_error("node " + std::to_string(index) + " has no network namespace here");
  return *it->second;
}

void host_netns::install(size_t index, const std::vector<node_netns::redirect>& out,
                         const std::vector<uint16_t>& ports, uint32_t host_addr,
                         const std::vector<forward>& forwards,
                         const std::filesystem::path& rules_file) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& ns = at(index);
  ns.install_rules(out, ports, rules_file, host_addr);
  if (forwards.empty())
    return;
  if (!forwards_)
    forwards_ = std::make_unique<fabric>();
  for (const auto& f : forwards)
    forwards_->add_relay("troupe", f.id, f.port, f.port, f.listen_addr, ns.inner_addr());
  forwards_->start();
}

void host_netns::set_drops(size_t index, const std::vector<node_netns::drop_rule>& rules,
                           const std::filesystem::path& rules_file) {
  std::lock_guard<std::mutex> guard{mutex_};
  at(index).set_drops(rules, rules_file);
}

uint64_t host_netns::dropped_packets() const {
  std::lock_guard<std::mutex> guard{mutex_};
  uint64_t sum = 0;
  for (const auto& [i, ns] : netns_)
    sum += ns->dropped_packets();
  return sum;
}

size_t host_netns::size() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return netns_.size();
}

void host_netns::remove() noexcept {
  std::lock_guard<std::mutex> guard{mutex_};
  if (forwards_)
    forwards_->stop();
  forwards_.reset();
  netns_.clear();
  janitors_.clear();
}

} // namespace troupe::backends::agent
