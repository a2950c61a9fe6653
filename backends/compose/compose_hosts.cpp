#include "backends/compose/compose_hosts.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "actors/errors.hpp"
#include "backends/agent/for_each_bounded.hpp"
#include "backends/compose/compose_file.hpp"
#include "backends/compose/container_agent.hpp"
#include "backends/compose/docker.hpp"
#include "backends/compose/image_builder.hpp"
#include "backends/compose/swarm_file.hpp"
#include "backends/compose/swarm_stack.hpp"

namespace troupe::backends::compose {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

namespace {

/// "troupe-" and 10 hex digits, new for every run (the Compose project, network and label).
std::string new_run_id() {
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof buf, "troupe-%05x%05x", rd() & 0xfffff, rd() & 0xfffff);
  return buf;
}

std::string new_token() {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 4; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", rd());
    out += buf;
  }
  return out;
}

uint32_t ipv4_of(const std::string& address, const std::string& node) {
  in_addr a{};
  if (::inet_pton(AF_INET, address.c_str(), &a) != 1)
    throw user_error("the container of node " + node +
                     " has no IPv4 address on the run network "
                     "(got \"" +
                     address + "\"): check the Docker daemon's address pools");
  return ntohl(a.s_addr);
}

} // namespace

local::local_options compose_hosts::options(const scenario& s) const {
  opts_ = read_section(s.backend.name == "compose" ? s.backend.params : nlohmann::json::object(),
                       "backend", read_options);
  return opts_.local;
}

local::host_limits compose_hosts::compose_limits() {
  local::host_limits l;
  l.no_netns = "the compose backend puts no packet rules in its containers (they have no "
               "NET_ADMIN and their images no nftables): run the scenario on the local backend, "
               "as root, for this program's network faults";
  return l;
}

std::string compose_hosts::binary(const local::program& p) const {
  require_daemon();
  if (opts_.swarm)
    require_swarm_manager();
  auto it = opts_.image.find(p.name);
  const auto image = it != opts_.image.end() ? it->second : default_image(p);
  if (!image_exists(image))
    throw user_error("the image " + image + " of program " + p.name +
                     " is not on the Docker daemon at " + docker_host() +
                     ": build it with `troupe image build " + p.name +
                     (image == default_image(p) ? std::string{} : " --tag " + image) + "`");
  images_[p.name] = image;
  auto command =
    p.image && !p.image->command.empty() ? p.image->command : image_label(image, "troupe.command");
  if (command.empty())
    throw user_error("the image " + image + " does not say where program " + p.name +
                     " is inside it (no troupe.command label): name it in the program's "
                     "\"image\": {\"command\": ...}, or build the image with troupe image build");
  return command;
}

std::map<std::string, uint16_t> compose_hosts::ports_of(size_t node) const {
  return node < node_ports_.size() ? node_ports_[node] : std::map<std::string, uint16_t>{};
}

void compose_hosts::choose_ports(const expanded_topology& topo, const fs::path& base_dir) {
  ports_ = std::make_unique<local::port_allocator>(opts_.local.port_min, opts_.local.port_max);
  nodes_.clear();
  agent_ports_.clear();
  node_ports_.clear();
  std::map<std::string, local::program_ptr> programs;
  for (const auto& n : topo.nodes) {
    auto& p = programs[n.spec.program];
    if (!p)
      p = local::load_program(n.spec.program, base_dir);
    nodes_.push_back(n.id);
    agent_ports_.push_back(ports_->allocate("the agent port of " + n.id));
    auto& mine = node_ports_.emplace_back();
    for (const auto& [name, base] : p->ports) {
      auto what = name + " of " + n.id;
      mine[name] = base > 0 ? ports_->reserve(static_cast<uint16_t>(base + n.index), what)
                            : ports_->allocate(what);
    }
  }
  gateway_port_ = opts_.swarm ? ports_->allocate("the agent port of the swarm gateway") : 0;
}

std::shared_ptr<agent::connection> compose_hosts::connect(size_t i, const std::string& token,
                                                          agent::connection::event_handler h,
                                                          const volatile int* interrupted) {
  const auto container = container_name(stack_->run_id(), nodes_[i]);
  container_agent c;
  c.what = "the agent of node " + nodes_[i];
  c.container = container;
  c.described = "the container " + container + " of node " + nodes_[i];
  c.port = agent_ports_[i];
  c.token = token;
  c.state = [this, container] { return stack_->state(container); };
  c.output_tail = [this, container] { return stack_->output_tail(container, 5); };
  c.interrupted = "interrupted while connecting to the containers' agents";
  return connect_container_agent(c, std::move(h), steady::now() + opts_.start_timeout,
                                 opts_.start_timeout, interrupted);
}

void compose_hosts::write_stack(const expanded_topology& topo, const fs::path& base_dir,
                                const fs::path& dir, const fs::path& token_file,
                                const std::string& token, const volatile int* interrupted) {
  stack_plan plan;
  plan.run_id = new_run_id();
  plan.token_file = token_file.string();
  for (size_t i = 0; i < topo.nodes.size(); ++i) {
    service_plan sp;
    sp.node = topo.nodes[i].id;
    sp.image = images_.at(local::load_program(topo.nodes[i].spec.program, base_dir)->name);
    sp.agent_port = agent_ports_[i];
    for (const auto& [name, port] : node_ports_[i]) {
      (void) name;
      sp.ports.push_back(port);
    }
    plan.services.push_back(sp);
  }
  const auto file = dir / (opts_.swarm ? "docker-stack.yml" : "docker-compose.yml");
  std::ofstream{file} << (opts_.swarm ? swarm_file(plan) : compose_file(plan)).dump(2) << "\n";
  if (opts_.swarm)
    stack_ = make_swarm_stack(plan, file, token, interrupted);
  else
    stack_ = std::make_unique<stack>(plan.run_id, file);
  info_ = {{"run_id", plan.run_id},
           {"mode", opts_.swarm ? "swarm" : "compose"},
           {"file", file.string()},
           {"keep", opts_.keep}};
}

std::unique_ptr<stack> compose_hosts::make_swarm_stack(const stack_plan& plan, const fs::path& file,
                                                       const std::string& token,
                                                       const volatile int* interrupted) const {
  gateway_plan g;
  g.run_id = plan.run_id;
  g.image = plan.services.empty() ? std::string{} : plan.services.front().image;
  g.token_file = plan.token_file;
  g.token = token;
  g.agent_port = gateway_port_;
  std::vector<swarm_node> nodes;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    nodes.push_back({nodes_[i], agent_ports_[i], node_ports_[i]});
    g.published.push_back(agent_ports_[i]);
    for (const auto& [name, port] : node_ports_[i]) {
      (void) name;
      g.published.push_back(port);
    }
  }
  return std::make_unique<swarm_stack>(plan.run_id, file, g, nodes, interrupted);
}

void compose_hosts::connect_all(const std::string& token, const handler_for& on_event,
                                const volatile int* interrupted) {
  agents_.assign(nodes_.size(), nullptr);
  std::vector<std::string> errors(nodes_.size());
  agent::for_each_bounded(nodes_.size(), 16, [&](size_t i) {
    try {
      agents_[i] = connect(i, token, on_event(i), interrupted);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  });
  if (interrupted && *interrupted)
    throw user_error("interrupted while connecting to the containers' agents", 130);
  for (const auto& e : errors)
    if (!e.empty())
      throw user_error(e);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    agent::tunnel_pool_options where;
    where.port = agent_ports_[i];
    where.token = token;
    where.what = "the agent of node " + nodes_[i];
    reach_.add_host(agents_[i], where);
  }
}

std::vector<local::hosts::started> compose_hosts::hosts_on(const network_info& net) {
  std::vector<started> out;
  auto containers = nlohmann::json::array();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const auto container = container_name(stack_->run_id(), nodes_[i]);
    auto it = net.addresses.find(container);
    const auto address = it == net.addresses.end() ? std::string{} : it->second;
    started st;
    st.where.name = container;
    st.where.address = address;
    st.where.ipv4 = ipv4_of(address, nodes_[i]);
    st.where.nodes_dir = fs::path{container_run_dir} / "nodes";
    st.where.remote = true;
    st.where.reach_address = "127.0.0.1";
    st.where.reached_from = net.subnet;
    st.agent = agents_[i];
    out.push_back(std::move(st));
    containers.push_back({{"node", nodes_[i]},
                          {"container", container},
                          {"address", address},
                          {"agent_port", agent_ports_[i]},
                          {"ports", node_ports_[i]}});
  }
  info_["containers"] = containers;
  return out;
}

std::vector<local::hosts::started>
compose_hosts::start(const scenario&, const expanded_topology& topo, const run_env& env,
                     const local::local_options&, const handler_for& on_event) {
  closed_ = false;
  const auto base_dir =
    env.scenario_path.empty() ? fs::path{} : fs::path{env.scenario_path}.parent_path();
  choose_ports(topo, base_dir);
  const auto dir = fs::absolute(env.run_dir) / "compose";
  fs::create_directories(dir);
  const auto token = new_token();
  const auto token_file = dir / "token";
  {
    std::ofstream out{token_file};
    out << token << "\n";
  }
  ::chmod(token_file.c_str(), 0600);
  write_stack(topo, base_dir, dir, token_file, token, env.interrupted);
  // The janitor first: from `up` on, a kill -9 of troupe must not leave the stack behind.
  if (!opts_.keep)
    stack_->guard();
  const auto t0 = steady::now();
  stack_->up(opts_.start_timeout);
  const auto net = stack_->network();
  info_["network"] = {{"name", stack_->run_id()}, {"subnet", net.subnet}, {"gateway", net.gateway}};
  info_["up_ms"] = std::chrono::duration_cast<milliseconds>(steady::now() - t0).count();
  connect_all(token, on_event, env.interrupted);
  placement_.resize(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i)
    placement_[i] = i;
  return hosts_on(net);
}

void compose_hosts::close() noexcept {
  if (closed_)
    return;
  closed_ = true;
  // The commands' way back first: nothing may reach the sync service through a stopping node.
  if (auto t = reach_.stats(); !t.empty())
    info_["reverse_tunnels"] = t;
  reach_.close();
  // Each agent stops its node when its stream ends; then the stack goes (unless kept).
  agent::for_each_bounded(agents_.size(), 32, [&](size_t i) {
    if (agents_[i])
      agents_[i]->close(std::chrono::seconds(30));
  });
  agents_.clear();
  if (stack_) {
    if (opts_.keep) {
      const auto cmd = stack_->remove_command();
      info_["remove_command"] = cmd;
      std::fprintf(stderr,
                   "troupe: the %s stack %s is kept (its nodes stopped, their "
                   "volumes there); remove it with: %s\n",
                   opts_.swarm ? "swarm" : "compose", stack_->run_id().c_str(), cmd.c_str());
    } else {
      stack_->down();
      const auto left = count_labelled(stack_->run_id());
      info_["left"] = {{"services", left.services},
                       {"containers", left.containers},
                       {"networks", left.networks},
                       {"volumes", left.volumes},
                       {"secrets", left.secrets}};
    }
    stack_->add_results(info_);
  }
  stack_.reset();
  if (ports_)
    ports_->release_all();
}

void compose_hosts::add_results(nlohmann::json& out) const {
  if (!info_.is_null())
    out["compose"] = info_;
}

std::string compose_hosts::reach_here(size_t host, uint16_t port) {
  try {
    return reach_.reach(host, port);
  } catch (const agent::agent_error& e) {
    throw user_error(e.what());
  }
}

} // namespace troupe::backends::compose
