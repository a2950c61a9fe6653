#include "backends/k8s/k8s_hosts.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <thread>

#include "actors/errors.hpp"
#include "backends/agent/for_each_bounded.hpp"
#include "backends/k8s/agent_token.hpp"
#include "backends/k8s/manifest_check.hpp"

namespace troupe::backends::k8s {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::seconds;

namespace {

uint32_t ipv4_number(const std::string& address, const std::string& pod) {
  in_addr a{};
  if (::inet_pton(AF_INET, address.c_str(), &a) != 1)
    throw user_error("pod " + pod + " has the address \"" + address +
                     "\", not an IPv4 address: the k8s backend binds each pod's node and link "
                     "relays to it (run on a cluster with IPv4 pod addresses)");
  return ntohl(a.s_addr);
}

/// Whether a pod's Ready condition is True.
bool pod_ready(const json& pod) {
  for (const auto& c : pod.value("status", json::object()).value("conditions", json::array()))
    if (c.value("type", "") == "Ready" && c.value("status", "") == "True")
      return true;
  return false;
}

/// The reason a pod is not Ready, from its status: a container's waiting or terminated
/// reason and message, or the pod's own condition.
std::string unready_reason(const json& pod) {
  const auto& st = pod.value("status", json::object());
  for (const auto& cs : st.value("containerStatuses", json::array())) {
    for (const char* key : {"waiting", "terminated"}) {
      const auto& state = cs.value("state", json::object());
      if (state.contains(key)) {
        const auto& w = state[key];
        return std::string(key) + ": " + w.value("reason", std::string("?")) +
               (w.contains("message") ? " (" + w.value("message", std::string{}) + ")" : "");
      }
    }
  }
  for (const auto& c : st.value("conditions", json::array()))
    if (c.value("status", "") == "False" && c.contains("message"))
      return c.value("type", std::string{}) + ": " + c.value("message", std::string{});
  return "phase " + st.value("phase", std::string("unknown"));
}

} // namespace

local::host_limits k8s_hosts::k8s_limits() {
  local::host_limits l;
  l.no_netns = "the k8s backend's pods have no NET_ADMIN capability (their containers drop "
               "every capability), so no packet rules: run the scenario with the local backend "
               "(as root) for this program's network faults";
  l.no_skew = "the k8s backend cannot know that a pod's image has libfaketime where this "
              "machine has it: run clock-skew scenarios on the local or ssh backend";
  return l;
}

void k8s_hosts::apply(const fs::path& dir) {
  applied_ = true; // whatever part of it is applied, close() deletes the namespace
  auto r = kubectl_->run({"apply", "--server-side", "--field-manager=troupe", "-f", dir.string()},
                         seconds(300));
  if (r.code != 0)
    throw user_error("kubectl apply --server-side of " + dir.string() +
                     " failed: " + kubectl::said(r) +
                     ": check that the kubeconfig's user may create namespaces, StatefulSets, "
                     "Services, ConfigMaps and Secrets");
}

std::string k8s_hosts::first_unready_pod() {
  auto r = kubectl_->run({"get", "pods", "-n", manifests_.ns, "-o", "json"}, seconds(60));
  auto pods = json::parse(r.out, nullptr, false);
  if (r.code != 0 || !pods.is_object())
    return "(kubectl get pods failed: " + kubectl::said(r) + ")";
  for (const auto& p : pods.value("items", json::array())) {
    if (!pod_ready(p))
      return "pod " + p["metadata"].value("name", std::string("?")) + " is not Ready (" +
             unready_reason(p) + ")";
  }
  return "every pod is Ready now";
}

void k8s_hosts::wait_ready(const k8s_options& o) {
  // kubectl wait watches the object: the API server says when readyReplicas changes.
  const auto deadline = std::chrono::steady_clock::now() + o.wait_timeout;
  for (const auto& g : manifests_.groups) {
    const auto left =
      std::chrono::duration_cast<seconds>(deadline - std::chrono::steady_clock::now());
    const auto secs = std::max<int64_t>(1, left.count());
    auto r = kubectl_->run({"wait", "-n", manifests_.ns,
                            "--for=jsonpath={.status.readyReplicas}=" + std::to_string(g.count),
                            "statefulset/" + g.name, "--timeout=" + std::to_string(secs) + "s"},
                           seconds(secs + 30));
    if (r.code != 0)
      throw user_error("the pods of group " + g.group + " (StatefulSet " + g.name +
                       " in namespace " + manifests_.ns + ") are not all Ready (kubectl wait, " +
                       std::to_string(o.wait_timeout.count()) + " s: " + kubectl::said(r) +
                       "): " + first_unready_pod() + ": check the image (" + g.image +
                       ", built by troupe image build and loaded into the cluster) and the "
                       "params cpu and memory, or raise wait_timeout");
  }
}

std::vector<k8s_hosts::pod_seen> k8s_hosts::pod_addresses(const expanded_topology& topo) {
  auto r = kubectl_->run({"get", "pods", "-n", manifests_.ns, "-l",
                          std::string(run_label) + "=" + run_id_, "-o", "json"},
                         seconds(120));
  auto pods = json::parse(r.out, nullptr, false);
  if (r.code != 0 || !pods.is_object())
    throw user_error("kubectl get pods -n " + manifests_.ns + " failed: " + kubectl::said(r));
  std::map<std::string, pod_seen> seen;
  for (const auto& p : pods.value("items", json::array())) {
    const auto meta = p.value("metadata", json::object());
    const auto name = meta.value("name", std::string{});
    seen[name] = {name, p.value("status", json::object()).value("podIP", std::string{}),
                  meta.value("uid", std::string{})};
  }
  std::vector<pod_seen> out;
  for (const auto& n : topo.nodes) {
    auto pod = pod_of(manifests_, n);
    auto it = seen.find(pod);
    if (it == seen.end() || it->second.address.empty())
      throw user_error("pod " + pod + " of node " + n.id + " has no address in namespace " +
                       manifests_.ns + " although its StatefulSet is Ready");
    out.push_back(it->second);
  }
  return out;
}

std::vector<local::hosts::started> k8s_hosts::start(const scenario& s,
                                                    const expanded_topology& topo,
                                                    const run_env& env, const local::local_options&,
                                                    const handler_for& on_event) {
  const auto o = options_of(s);
  kill_deletes_pod_ = o.kill_deletes_pod;
  log_tail_bytes_ = o.log_tail_bytes;
  kubectl_ = std::make_unique<kubectl>(o.kubectl);
  kubectl_->check_reachable();
  // The run directory's name, and 8 random hex digits: two runs never share a namespace,
  // even with the same --out name.
  const auto name = run_id_for(fs::absolute(env.run_dir).filename().string()).substr(0, 47);
  run_identity id{run_id_for(name + "-" + new_agent_token().substr(0, 8)), new_agent_token(),
                  static_cast<int64_t>(std::time(nullptr))};
  run_id_ = id.run_id;
  const auto base_dir =
    env.scenario_path.empty() ? fs::path{} : fs::path{env.scenario_path}.parent_path();
  manifests_ = render_manifests(s, o, id, base_dir);
  if (auto problems = check_manifests(manifests_.objects); !problems.empty())
    throw std::logic_error("the k8s backend rendered objects the API would refuse: " + problems[0]);
  const auto dir = env.run_dir / "k8s";
  fs::create_directories(dir);
  const auto names = file_names(manifests_);
  for (size_t i = 0; i < names.size(); ++i)
    std::ofstream{dir / names[i]} << manifests_.objects[i].dump(2) << "\n";
  info_ = {{"namespace", manifests_.ns},
           {"kubeconfig", kubectl_->config_source()},
           {"pods", json::array()}};
  apply(dir);
  wait_ready(o);
  const auto pods = pod_addresses(topo);

  // One pod per node: host i runs node i. Agents are connected in parallel.
  options_ = o;
  token_ = id.token;
  on_event_ = on_event;
  agents_.assign(pods.size(), nullptr);
  std::vector<std::string> errors(pods.size());
  agent::for_each_bounded(pods.size(), o.parallel, [&](size_t i) {
    try {
      agents_[i] = connect(i, pods[i].name, pods[i].address);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  });
  for (const auto& e : errors)
    if (!e.empty())
      throw user_error(e);
  std::vector<started> out;
  placement_.clear();
  for (size_t i = 0; i < pods.size(); ++i) {
    reach_.add_host(agents_[i], tunnel_ends(pods[i].name, pods[i].address));
    out.push_back(host_of(i, pods[i].name, pods[i].address));
    placement_.push_back(i);
    info_["pods"].push_back(
      {{"name", pods[i].name}, {"address", pods[i].address}, {"node", topo.nodes[i].id}});
    pods_.emplace_back(pods[i].name, topo.nodes[i].id);
    uids_.push_back(pods[i].uid);
  }
  return out;
}

std::shared_ptr<agent::connection> k8s_hosts::connect(size_t host, const std::string& pod,
                                                      const std::string& address) {
  agent::tcp_agent_options ch;
  ch.address = address;
  ch.port = options_.agent_port;
  ch.token = token_;
  ch.what = "the agent of pod " + pod + " (" + address + ":" + std::to_string(ch.port) + ")";
  try {
    return agent::connection::start_tcp(ch, on_event_(host));
  } catch (const std::exception& e) {
    throw user_error(std::string(e.what()) +
                     ": troupe reaches the pods at their own addresses, so run it in the "
                     "cluster or on a machine routed to the pod network");
  }
}

agent::tunnel_pool_options k8s_hosts::tunnel_ends(const std::string& pod,
                                                  const std::string& address) const {
  agent::tunnel_pool_options where;
  where.address = address;
  where.port = options_.agent_port;
  where.token = token_;
  where.what = "the agent of pod " + pod;
  return where;
}

local::hosts::started k8s_hosts::host_of(size_t host, const std::string& pod,
                                         const std::string& address) const {
  started st;
  st.where.name = pod;
  st.where.address = address;
  st.where.ipv4 = ipv4_number(address, pod);
  st.where.nodes_dir = fs::path(options_.pod_dir) / "nodes"; // the emptyDir "run"
  st.where.remote = true;
  st.agent = agents_.at(host);
  return st;
}

void k8s_hosts::close() noexcept {
  // The commands' way back first: nothing may reach the sync service through a stopping pod.
  if (auto t = reach_.stats(); !t.empty() && info_.is_object())
    info_["reverse_tunnels"] = t;
  reach_.close();
  agent::for_each_bounded(agents_.size(), 64, [&](size_t i) {
    if (agents_[i])
      agents_[i]->close();
  });
  agents_.clear();
  if (!applied_ || !kubectl_)
    return;
  applied_ = false;
  try {
    // --wait=false: the API server deletes everything in it; troupe need not watch that.
    auto r = kubectl_->run(
      {"delete", "namespace", manifests_.ns, "--wait=false", "--ignore-not-found"}, seconds(120));
    info_["namespace_deleted"] = r.code == 0;
    if (r.code != 0)
      std::fprintf(stderr,
                   "troupe: could not delete namespace %s (%s): delete it with kubectl delete "
                   "namespace %s, or let troupe k8s gc do it after its expiry\n",
                   manifests_.ns.c_str(), kubectl::said(r).c_str(), manifests_.ns.c_str());
  } catch (...) {
  }
}

void k8s_hosts::add_results(json& out) const {
  std::lock_guard<std::mutex> guard{crash_mutex_};
  if (!info_.is_null())
    out["k8s"] = info_;
}

std::string k8s_hosts::reach_here(size_t host, uint16_t port) {
  try {
    return reach_.reach(host, port);
  } catch (const agent::agent_error& e) {
    throw user_error(e.what());
  }
}

std::optional<std::string> k8s_hosts::crash(size_t host) {
  if (!kill_deletes_pod_)
    return std::nullopt;
  std::lock_guard<std::mutex> guard{crash_mutex_};
  if (host >= pods_.size() || !kubectl_)
    return "the k8s backend has no pod of host " + std::to_string(host) + " to delete";
  const auto& [pod, node] = pods_[host];
  // --force --grace-period=0: the kubelet kills the pod's containers at once, as a crash.
  auto r = kubectl_->run(
    {"delete", "pod", pod, "-n", manifests_.ns, "--force", "--grace-period=0", "--wait=false"},
    seconds(60));
  if (r.code != 0)
    return "kubectl delete pod " + pod + " of node " + node + " failed: " + kubectl::said(r);
  lost_[host] = "the pod " + pod + " of node " + node +
                " was deleted (a kill with \"kill\": \"delete_pod\"): a start or restart "
                "takes the pod its StatefulSet makes again";
  info_["deleted_pods"].push_back({{"pod", pod}, {"node", node}});
  return std::string{};
}

json k8s_hosts::replacement_pod(const std::string& pod, const std::string& old_uid) {
  const auto deadline = std::chrono::steady_clock::now() + options_.wait_timeout;
  std::string last = "not made yet";
  for (;;) {
    auto r = kubectl_->run({"get", "pod", pod, "-n", manifests_.ns, "-o", "json"}, seconds(60));
    auto p = json::parse(r.out, nullptr, false);
    if (r.code == 0 && p.is_object() &&
        p.value("metadata", json::object()).value("uid", std::string{}) != old_uid) {
      if (pod_ready(p) && !p["status"].value("podIP", std::string{}).empty())
        return p;
      last = unready_reason(p);
      // Made: the API server says when it is Ready.
      const auto left =
        std::chrono::duration_cast<seconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() > 0) {
        kubectl_->run({"wait", "-n", manifests_.ns, "pod/" + pod, "--for=condition=Ready",
                       "--timeout=" + std::to_string(left.count()) + "s"},
                      left + seconds(30));
        continue;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline)
      throw user_error("the pod that replaces the deleted pod " + pod + " (namespace " +
                       manifests_.ns + ") was not Ready after " +
                       std::to_string(options_.wait_timeout.count()) + " s (" + last +
                       "): check its StatefulSet's events (kubectl describe statefulset -n " +
                       manifests_.ns + "), or raise wait_timeout");
    // Not made yet: the StatefulSet controller makes it within seconds.
    std::this_thread::sleep_for(seconds(1));
  }
}

std::optional<local::hosts::started> k8s_hosts::revive(size_t host) {
  std::string pod, node, old_uid;
  {
    std::lock_guard<std::mutex> guard{crash_mutex_};
    if (!lost_.count(host) || !kubectl_)
      return std::nullopt;
    pod = pods_.at(host).first;
    node = pods_.at(host).second;
    old_uid = uids_.at(host);
  }
  const auto p = replacement_pod(pod, old_uid);
  const auto address = p["status"].value("podIP", std::string{});
  ipv4_number(address, pod); // an IPv4 address, or why not
  auto fresh = connect(host, pod, address);
  if (agents_.at(host))
    agents_[host]->close(); // gone with its pod; its reader thread ends here
  agents_[host] = fresh;
  reach_.replace_host(host, fresh, tunnel_ends(pod, address));
  std::lock_guard<std::mutex> guard{crash_mutex_};
  lost_.erase(host);
  uids_[host] = p["metadata"].value("uid", std::string{});
  info_["adopted_pods"].push_back({{"pod", pod}, {"node", node}, {"address", address}});
  return host_of(host, pod, address);
}

std::optional<std::string> k8s_hosts::lost(size_t host) const {
  std::lock_guard<std::mutex> guard{crash_mutex_};
  auto it = lost_.find(host);
  return it == lost_.end() ? std::nullopt : std::optional<std::string>{it->second};
}

} // namespace troupe::backends::k8s
