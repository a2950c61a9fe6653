#include "backends/ssh/fleet.hpp"

#include <unistd.h>

#include <atomic>
#include <thread>

#include "actors/errors.hpp"
#include "backends/ssh/bootstrap.hpp"

namespace troupe::backends::ssh {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

fleet::fleet(inventory inv, fleet_options o)
  : inv_(std::move(inv))
  , o_(std::move(o)) {
  fs::create_directories(o_.run_dir / "ssh");
  control_dir_ = control_dir_for(o_.run_dir, inv_.hosts.size());
  control_dir_is_tmp_ = control_dir_.string().rfind("/tmp/troupe-cm-", 0) == 0;
  settings_.state_dir = fs::absolute(o_.run_dir) / "ssh";
  settings_.control_dir = control_dir_;
  settings_.host_keys = o_.host_keys.empty() ? inv_.host_keys : o_.host_keys;
  settings_.known_hosts = inv_.known_hosts;
  settings_.connect_timeout = o_.connect_timeout;
  settings_.attempts = o_.attempts;
  for (auto& h : inv_.hosts) {
    fleet_host fh;
    fh.host = h;
    hosts_.push_back(std::move(fh));
  }
}

fleet::~fleet() { close(); }

size_t fleet::usable() const {
  size_t n = 0;
  for (auto& h : hosts_)
    n += h.error.empty();
  return n;
}

std::string fleet::remote_run_dir(size_t i) const {
  return o_.remote_dir + "/runs/" +
         fs::absolute(o_.run_dir).lexically_normal().filename().string() + "/" +
         hosts_.at(i).host.name;
}

void fleet::connect() {
  if (::access(o_.troupe_binary.c_str(), R_OK) != 0)
    throw user_error("the troupe to copy to the hosts (" + o_.troupe_binary +
                     ") cannot be read: build troupe, or set the backend param \"agent_binary\"");
  troupe_sha_ = sha256_file(o_.troupe_binary);
  agent::for_each_bounded(hosts_.size(), o_.parallel, [&](size_t i) { connect_one(hosts_[i], i); });
  check_enough("connect to");
}

void fleet::connect_one(fleet_host& h, size_t index) {
  try {
    h.master = std::make_unique<ssh_master>(h.host, settings_, index);
    h.master->open();
    // A troupe that cannot start there (another libc, missing libraries) is said now, not as
    // an agent that ends at hello: `--version` in the same round trip as the copy's check.
    auto f =
      ensure_file(*h.master, o_.troupe_binary, troupe_sha_, o_.remote_dir, "{file} --version");
    h.troupe_path = f.path;
    h.copied = f.copied;
    if (f.then_code != 0) {
      auto why = f.then_output;
      while (!why.empty() && (why.back() == '\n' || why.back() == '\r'))
        why.pop_back();
      throw host_error("host " + h.host.describe() + " cannot run troupe (" + why +
                       "): install troupe's runtime packages there (scripts/runtime-packages.txt)");
    }
  } catch (const std::exception& e) {
    h.error = e.what();
    if (h.master)
      h.master->close();
  }
}

void fleet::check_enough(const char* stage) const {
  const size_t need = o_.hosts_min == 0 ? hosts_.size() : o_.hosts_min;
  if (usable() >= need)
    return;
  // One sentence a failed host, each on its own line.
  std::vector<validation_error> failed;
  for (auto& h : hosts_)
    if (!h.error.empty())
      failed.push_back({"", h.error});
  if (o_.hosts_min != 0)
    failed.push_back({"", "could " + std::string(stage) + " " + std::to_string(usable()) + " of " +
                            std::to_string(hosts_.size()) + " hosts, and hosts_min is " +
                            std::to_string(o_.hosts_min) +
                            ": fix the hosts above or lower hosts_min"});
  throw validation_failed(failed);
}

void fleet::start_agents(const std::function<agent::connection::event_handler(size_t)>& on_event) {
  agent::for_each_bounded(hosts_.size(), o_.parallel, [&](size_t i) {
    if (hosts_[i].error.empty())
      start_agent(i, on_event ? on_event(i) : agent::connection::event_handler{});
  });
  check_enough("start an agent on");
}

void fleet::start_agent(size_t i, const agent::connection::event_handler& on_event) {
  auto& h = hosts_[i];
  const auto run = shell_quote(remote_run_dir(i));
  agent::stdio_channel ch;
  // exec: the shell's PID becomes the agent's, so RUN/agent.pid names the agent itself.
  ch.argv = h.master->command(
    "mkdir -p " + run + " && echo $$ > " + run + "/agent.pid && exec " +
    shell_quote(h.troupe_path) + " agent --stdio --log-file " + run + "/agent.log" +
    (o_.expires_at > 0 ? " --expires-at " + std::to_string(o_.expires_at) : std::string{}));
  ch.log_path = settings_.state_dir / (h.host.name + ".agent.ssh.log");
  ch.pid_path = settings_.state_dir / (h.host.name + ".agent.ssh.pid");
  ch.what = "the agent on host " + h.host.describe();
  ch.missing_fix = "install openssh-client on this machine";
  ch.hello_timeout = o_.connect_timeout + milliseconds(10000);
  try {
    h.agent = agent::connection::start_stdio(ch, on_event);
  } catch (const std::exception& e) {
    h.error = e.what();
  }
}

void fleet::close() noexcept {
  // Every agent at once: each stops its own nodes, in parallel across hosts.
  agent::for_each_bounded(hosts_.size(), o_.parallel, [&](size_t i) {
    if (hosts_[i].agent)
      hosts_[i].agent->close();
  });
  for (auto& h : hosts_) {
    h.agent.reset();
    if (h.master)
      h.master->close();
  }
  if (control_dir_is_tmp_) {
    std::error_code ec;
    fs::remove_all(control_dir_, ec);
  }
}

} // namespace troupe::backends::ssh
