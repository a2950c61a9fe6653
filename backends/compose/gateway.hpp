#pragma once
// The gateway of a swarm-mode run: how troupe reaches tasks that Swarm cannot publish on
// 127.0.0.1 only (its routing mesh and its host mode both bind every interface). One plain
// container (`docker run -d`, name <run id>-gateway, label troupe.run=<run id>) on troupe's
// own daemon, on the run's attachable overlay network, from one of the run's images, running
// `troupe agent --listen 0.0.0.0:<its port>`. Every node's agent port and program ports are
// published from it on 127.0.0.1 at their own numbers (`-p 127.0.0.1:P:P`); troupe then asks
// its agent's link fabric for one relay per port, listening on 0.0.0.0:P inside and forwarding
// to the task's overlay address at the same P. Relays are never shaped or cut: the run's
// faults are applied by the nodes' own agents, on the links between nodes.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/agent/connection.hpp"
#include "backends/agent/remote_fabric.hpp"

namespace troupe::backends::compose {

struct gateway_plan {
  std::string run_id;
  std::string image;      ///< any image of the run (each holds troupe at image_troupe_path)
  std::string token_file; ///< on this machine, mounted read-only
  std::string token;
  uint16_t agent_port = 0;         ///< its own agent, published on 127.0.0.1
  std::vector<uint16_t> published; ///< every node port it forwards, published the same way
};

/// One port forwarded: 127.0.0.1:`port` here -> `address`:`port` on the overlay.
struct gateway_forward {
  std::string node;
  std::string what; ///< "agent", or the program's port name
  uint16_t port = 0;
  std::string address; ///< the task's IPv4 address on the run network
};

class gateway {
public:
  explicit gateway(gateway_plan plan);
  /// Closes its agent connection only: a kept run keeps its gateway (remove_command names it).
  ~gateway() { disconnect(); }
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  /// The container's name: <run id>-gateway.
  static std::string name_of(const std::string& run_id) { return run_id + "-gateway"; }
  const std::string& name() const { return name_; }

  /// `docker run -d` it; throws user_error with one sentence (a busy port names it).
  void start();
  /// Connects to its agent (retrying while it starts, until `deadline`: the end of the
  /// backend's start_timeout, `budget`), adds one relay per forward and starts them; throws
  /// user_error with one sentence.
  void forward(const std::vector<gateway_forward>& forwards,
               std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds budget,
               const volatile int* interrupted);
  /// What went through each relay (report.json's compose.gateway).
  nlohmann::json stats() const;
  /// Keeps the relays' last stats and closes its agent connection; never throws.
  void disconnect() noexcept;
  /// disconnect(), then removes the container; never throws.
  void stop() noexcept;

private:
  std::shared_ptr<agent::connection> connect(std::chrono::steady_clock::time_point deadline,
                                             std::chrono::milliseconds budget,
                                             const volatile int* interrupted);

  gateway_plan plan_;
  std::string name_;
  bool started_ = false;
  std::shared_ptr<agent::connection> conn_;
  std::unique_ptr<agent::remote_fabric> fabric_;
  nlohmann::json last_stats_;
};

} // namespace troupe::backends::compose
