#pragma once
// A one-node Swarm for the swarm-mode tests, on the test daemon (docker_daemon.hpp), left as
// it was found: when the daemon's swarm state is `inactive`, this process initialises one on
// 127.0.0.1 (`docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377`,
// its overlay subnets from a pool of its own) and leaves it (`docker swarm leave --force`)
// when the process ends, with the docker_gwbridge it made for it; when it is already
// `active` (a manager), it is used and left active. A swarm it did not create is never
// touched. The bridge Swarm needs on the host (docker_gwbridge) is made first, without
// masquerading, as the daemon's own networks are: nothing leaves the machine.

#include <unistd.h>

#include <string>

#include "tests/compose/compose_helpers.hpp"

namespace troupe::test::compose {

class one_node_swarm {
public:
  one_node_swarm() {
    if (error_ = ready_daemon(); !error_.empty())
      return;
    const auto state = swarm_state();
    if (state == "active") {
      if (trimmed(docker().docker("info --format '{{.Swarm.ControlAvailable}}'").out) != "true")
        error_ = "the test daemon is a Swarm worker, not a manager: run the swarm tests on a "
                 "manager (or a daemon in no swarm)";
      return;
    }
    if (state != "inactive") {
      error_ = "the test daemon's swarm state is \"" + state +
               "\": neither in a swarm nor a "
               "manager, so the test leaves it alone";
      return;
    }
    if (docker().docker("network inspect docker_gwbridge").code != 0) {
      auto made = docker().docker(
        "network create --driver bridge --label troupe.test=swarm "
        "--opt com.docker.network.bridge.name=docker_gwbridge "
        "--opt com.docker.network.bridge.enable_icc=false "
        "--opt com.docker.network.bridge.enable_ip_masquerade=false docker_gwbridge");
      if (made.code != 0) {
        error_ = "docker_gwbridge could not be made: " + made.out;
        return;
      }
      made_bridge_ = true;
    }
    const auto pool = "10." + std::to_string(190 + ::getpid() % 40) + ".0.0/16";
    auto init = docker().docker("swarm init --advertise-addr 127.0.0.1 --listen-addr "
                                "127.0.0.1:2377 --default-addr-pool " +
                                  pool + " --default-addr-pool-mask-length 24",
                                120);
    if (init.code != 0) {
      error_ = "docker swarm init failed: " + init.out;
      leave();
      return;
    }
    created_ = true;
  }
  ~one_node_swarm() { leave(); }
  one_node_swarm(const one_node_swarm&) = delete;
  one_node_swarm& operator=(const one_node_swarm&) = delete;

  /// Why there is no swarm to run on ("" when there is one).
  const std::string& error() const { return error_; }

  /// The daemon's `{{.Swarm.LocalNodeState}}`: inactive, active, pending, error, locked.
  static std::string swarm_state() {
    return trimmed(docker().docker("info --format '{{.Swarm.LocalNodeState}}'").out);
  }

private:
  static std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
      s.pop_back();
    return s;
  }

  void leave() {
    if (created_)
      docker().docker("swarm leave --force", 120);
    created_ = false;
    if (made_bridge_)
      docker().docker("network rm docker_gwbridge", 60);
    made_bridge_ = false;
  }

  std::string error_;
  bool created_ = false;
  bool made_bridge_ = false;
};

/// The test process's swarm, made at the first call and left when the process ends (before
/// the daemon stops: that one was made first, so it goes last).
inline one_node_swarm& swarm() {
  static one_node_swarm s;
  return s;
}

} // namespace troupe::test::compose
