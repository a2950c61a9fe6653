#include "backends/compose/swarm_stack.hpp"

#include <thread>

#include "actors/errors.hpp"
#include "backends/compose/compose_file.hpp"
#include "backends/compose/docker.hpp"
#include "backends/compose/swarm_file.hpp"

namespace troupe::backends::compose {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using steady = std::chrono::steady_clock;

void require_swarm_manager() {
  auto r = docker({"info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"},
                  seconds(30));
  const auto got = r.code == 0 ? first_line(r) : std::string{};
  if (got == "active true")
    return;
  const auto state = got.substr(0, got.find(' '));
  throw user_error("\"mode\": \"swarm\" needs the Docker daemon at " + docker_host() +
                   " to be a Swarm manager, and it is " +
                   (state == "active" ? std::string("a worker")
                                      : "not (its swarm state: " +
                                          (state.empty() ? std::string("unknown") : state) + ")") +
                   ": run `docker swarm init --advertise-addr 127.0.0.1 --listen-addr "
                   "127.0.0.1:2377` there (or point DOCKER_HOST at a manager), or drop \"mode\"");
}

namespace {

/// Swarm's task states that end a task: it will never run (again), restart_policy none.
bool ended(const std::string& state) {
  return state == "complete" || state == "failed" || state == "rejected" || state == "shutdown" ||
         state == "orphaned" || state == "remove";
}

swarm_task task_of(const json& t, const std::string& run_id) {
  swarm_task out;
  const auto labels =
    t.value("Spec", json::object()).value("ContainerSpec", json::object()).value("Labels", json{});
  if (labels.is_object())
    out.node = labels.value("troupe.node", "");
  const auto status = t.value("Status", json::object());
  out.state = status.value("State", "");
  out.error = status.value("Err", "");
  for (const auto& a : t.value("NetworksAttachments", json::array())) {
    const auto name =
      a.value("Network", json::object()).value("Spec", json::object()).value("Name", "");
    const auto addresses = a.value("Addresses", json::array());
    if (name == run_id && !addresses.empty() && addresses[0].is_string()) {
      const auto cidr = addresses[0].get<std::string>();
      out.address = cidr.substr(0, cidr.find('/'));
    }
  }
  return out;
}

} // namespace

swarm_stack::swarm_stack(std::string run_id, std::filesystem::path file, gateway_plan gateway,
                         std::vector<swarm_node> nodes, const volatile int* interrupted)
  : stack(std::move(run_id), std::move(file))
  , nodes_(std::move(nodes))
  , interrupted_(interrupted)
  , gateway_(std::make_unique<compose::gateway>(std::move(gateway))) {}

swarm_stack::~swarm_stack() = default;

std::map<std::string, swarm_task> swarm_stack::tasks() const {
  std::map<std::string, swarm_task> out;
  auto ids = docker({"stack", "ps", "-q", "--no-trunc", run_id()}, seconds(60));
  if (ids.code != 0)
    return out;
  auto list = output_words(ids.out);
  if (list.empty())
    return out;
  std::vector<std::string> args{"inspect", "--type", "task"};
  args.insert(args.end(), list.begin(), list.end());
  auto r = docker(args, seconds(60));
  if (r.code != 0)
    return out;
  try {
    for (const auto& t : json::parse(r.out)) {
      auto task = task_of(t, run_id());
      // A node has one task (replicas 1, never restarted by Swarm); a running one wins over a
      // stale entry should the history hold two.
      if (!task.node.empty() && (out[task.node].state != "running"))
        out[task.node] = task;
    }
  } catch (const std::exception&) {
    // Not what a Swarm manager answers: as if no task were there yet.
  }
  return out;
}

void swarm_stack::wait_running(steady::time_point deadline) {
  for (;;) {
    auto now = tasks();
    std::string waiting;
    for (const auto& n : nodes_) {
      auto it = now.find(n.id);
      if (it == now.end()) {
        waiting += (waiting.empty() ? "" : ", ") + n.id + " (no task yet)";
        continue;
      }
      const auto& t = it->second;
      if (ended(t.state))
        throw user_error("the swarm task of node " + n.id + " is " + t.state +
                         (t.error.empty() ? std::string{} : " (" + t.error + ")") +
                         " before it ran: see `docker service ps --no-trunc " +
                         service_name(run_id(), n.id) + "`");
      if (t.state != "running" || t.address.empty())
        waiting += (waiting.empty() ? "" : ", ") + n.id + " (" + t.state + ")";
    }
    if (waiting.empty()) {
      running_ = std::move(now);
      return;
    }
    if (interrupted_ && *interrupted_)
      throw user_error("interrupted while the swarm stack's tasks were starting", 130);
    if (steady::now() >= deadline)
      throw user_error("the swarm tasks of nodes " + waiting +
                       " were not running within the backend's start_timeout: raise it, or "
                       "see `docker stack ps --no-trunc " +
                       run_id() + "`");
    std::this_thread::sleep_for(milliseconds(300));
  }
}

void swarm_stack::up(milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  deployed_ = true; // from here on down() removes the stack, even when deploy half failed
  std::vector<std::string> cmd{docker_binary(), "stack", "deploy",        "--resolve-image",
                               "never",         "-c",    file().string(), run_id()};
  auto r = ssh::run_process(cmd, timeout);
  if (r.code != 0)
    throw user_error("the swarm stack of the run was not deployed (" +
                     (r.timed_out ? "not within " + std::to_string(timeout.count() / 1000) + " s"
                                  : first_line(r)) +
                     "); see " + file().string());
  wait_running(deadline);
  gateway_->start();
  std::vector<gateway_forward> forwards;
  for (const auto& n : nodes_) {
    const auto& address = running_.at(n.id).address;
    forwards.push_back({n.id, "agent", n.agent_port, address});
    for (const auto& [name, port] : n.ports)
      forwards.push_back({n.id, name, port, address});
  }
  gateway_->forward(forwards, deadline, timeout, interrupted_);
}

network_info swarm_stack::network() const {
  auto out = stack::network();
  out.addresses.clear();
  for (const auto& [node, t] : running_)
    out.addresses[container_name(run_id(), node)] = t.address;
  return out;
}

std::string swarm_stack::node_of(const std::string& container) const {
  for (const auto& n : nodes_)
    if (container_name(run_id(), n.id) == container)
      return n.id;
  return {};
}

std::string swarm_stack::state(const std::string& container) const {
  auto all = tasks();
  auto it = all.find(node_of(container));
  if (it == all.end())
    return {};
  const auto& s = it->second.state;
  // In the words of a container's states, which the hosts wait on.
  if (s == "running")
    return "running";
  if (ended(s))
    return s;
  return "created";
}

std::string swarm_stack::output_tail(const std::string& container, size_t lines) const {
  auto r = docker({"service", "logs", "--raw", "--tail", std::to_string(lines),
                   service_name(run_id(), node_of(container))},
                  seconds(30));
  return r.out + r.err;
}

void swarm_stack::down() noexcept {
  gateway_->stop();
  if (deployed_) {
    try {
      docker({"stack", "rm", run_id()}, seconds(120));
    } catch (const std::exception&) {
    }
  }
  sweep(run_id());
  release_guard();
}

std::string swarm_stack::remove_command() const {
  // `docker stack rm` returns before Swarm removed the tasks, and leaves the volumes and the
  // gateway: troupe's own sweep removes all of it and waits (bounded) for what Swarm removes
  // on its own time. The troupe that ran is named by its path, so the command works as is.
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec || self.empty() || self.find(' ') != std::string::npos)
    self = "troupe";
  return "DOCKER_HOST=" + docker_host() + " " + self + " compose gc --run " + run_id();
}

void swarm_stack::add_results(json& out) const {
  out["mode"] = "swarm";
  json tasks = json::array();
  for (const auto& [node, t] : running_)
    tasks.push_back(
      {{"node", node}, {"service", service_name(run_id(), node)}, {"address", t.address}});
  out["tasks"] = tasks;
  out["gateway"] = {{"container", gateway::name_of(run_id())}, {"fabric", gateway_->stats()}};
}

} // namespace troupe::backends::compose
