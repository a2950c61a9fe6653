#include "backends/compose/gateway.hpp"

#include <arpa/inet.h>

#include "actors/errors.hpp"
#include "backends/compose/compose_file.hpp"
#include "backends/compose/container_agent.hpp"
#include "backends/compose/docker.hpp"
#include "backends/compose/image_builder.hpp"

namespace troupe::backends::compose {

using std::chrono::milliseconds;
using std::chrono::seconds;
using steady = std::chrono::steady_clock;

namespace {

uint32_t ipv4(const std::string& address, const std::string& node) {
  in_addr a{};
  if (::inet_pton(AF_INET, address.c_str(), &a) != 1)
    throw user_error("the task of node " + node +
                     " has no IPv4 address on the run network (got \"" + address +
                     "\"): check the Swarm's address pools (docker swarm init "
                     "--default-addr-pool)");
  return ntohl(a.s_addr);
}

} // namespace

gateway::gateway(gateway_plan plan)
  : plan_(std::move(plan))
  , name_(name_of(plan_.run_id)) {}

void gateway::start() {
  std::vector<std::string> args{"run",          "-d",
                                "--name",       name_,
                                "--label",      "troupe.run=" + plan_.run_id,
                                "--label",      "troupe.node=gateway",
                                "--network",    plan_.run_id,
                                "--hostname",   "gateway",
                                "--log-driver", "json-file",
                                "--log-opt",    "max-size=1m",
                                "-v",           plan_.token_file + ":/troupe/token:ro",
                                "-p",           published_on_loopback(plan_.agent_port)};
  for (auto p : plan_.published)
    args.insert(args.end(), {"-p", published_on_loopback(p)});
  args.insert(args.end(),
              {"--entrypoint", image_troupe_path, plan_.image, "agent", "--listen",
               "0.0.0.0:" + std::to_string(plan_.agent_port), "--token-file", "/troupe/token"});
  started_ = true; // from here on stop() removes it, even when `run` half failed
  auto r = docker(args, seconds(120));
  if (r.code == 0)
    return;
  if (auto busy = busy_port_sentence(r, "the swarm gateway"); !busy.empty())
    throw user_error(busy);
  throw user_error("the gateway container " + name_ + " of the swarm run did not start (" +
                   first_line(r) + ")");
}

std::shared_ptr<agent::connection> gateway::connect(steady::time_point deadline,
                                                    milliseconds budget,
                                                    const volatile int* interrupted) {
  container_agent c;
  c.what = "the agent of the swarm gateway";
  c.container = name_;
  c.described = "the gateway container " + name_;
  c.port = plan_.agent_port;
  c.token = plan_.token;
  c.state = [this] {
    auto r = docker({"inspect", "--format", "{{.State.Status}}", name_}, seconds(30));
    return r.code == 0 ? first_line(r) : std::string{};
  };
  c.output_tail = [this] {
    auto logs = docker({"logs", "--tail", "5", name_}, seconds(30));
    return logs.out + logs.err;
  };
  c.interrupted = "interrupted while connecting to the swarm gateway";
  return connect_container_agent(
    c, [](const nlohmann::json&) {}, deadline, budget, interrupted);
}

void gateway::forward(const std::vector<gateway_forward>& forwards, steady::time_point deadline,
                      milliseconds budget, const volatile int* interrupted) {
  conn_ = connect(deadline, budget, interrupted);
  fabric_ = std::make_unique<agent::remote_fabric>(conn_, 1);
  for (const auto& f : forwards) {
    try {
      fabric_->add_relay("gateway", f.node + "/" + f.what, f.port, f.port, 0 /* 0.0.0.0 */,
                         ipv4(f.address, f.node));
    } catch (const user_error&) {
      throw;
    } catch (const std::exception& e) {
      throw user_error("the swarm gateway cannot forward port " + std::to_string(f.port) + " (" +
                       f.what + " of node " + f.node + "): " + e.what());
    }
  }
  try {
    fabric_->start();
  } catch (const std::exception& e) {
    throw user_error(std::string("the swarm gateway's relays did not start: ") + e.what());
  }
}

nlohmann::json gateway::stats() const {
  if (!fabric_)
    return last_stats_;
  return fabric_->stats_json();
}

void gateway::disconnect() noexcept {
  if (fabric_) {
    fabric_->stop();
    try {
      last_stats_ = fabric_->stats_json();
    } catch (const std::exception&) {
    }
    fabric_.reset();
  }
  if (conn_) {
    conn_->close(seconds(10));
    conn_.reset();
  }
}

void gateway::stop() noexcept {
  disconnect();
  if (!started_)
    return;
  started_ = false;
  try {
    docker({"rm", "-f", name_}, seconds(60));
  } catch (const std::exception&) {
    // No docker client: the sweep of the run's label has nothing else to go on either.
  }
}

} // namespace troupe::backends::compose
