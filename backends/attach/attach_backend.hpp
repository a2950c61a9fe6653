#pragma once
// `attach`: a network that troupe did not start. Its nodes come from a list in the scenario
// or from a discovery registry (services/discovery_server, `GET /v1/online`) polled during
// the run; troupe reaches each through its program's adapter and starts, stops and changes
// nothing.
//
//   "backend": {"name": "attach",
//               "nodes": [{"id": "member-0", "program": "etcd", "vars": {"client_port": "2379"}}],
//               "discovery": "http://127.0.0.1:7300", "window": "30s", "poll": "1s",
//               "poll_interval": "500ms"}
//
// The scenario's topology names the nodes the run expects (group members by id, as on every
// backend). A listed node must answer before the run starts. With "discovery", a node is up
// while the registry lists it within "window" (its endpoints and labels are its template
// vars) and its adapter answers: one that appears at minute 3 is down in the report until
// minute 3, one that leaves the registry is down from then on, so workloads, expectations and
// reports see the changing set as nodes going down and up.
//
// Controls and faults: none (every one is refused up front, `troupe validate --backend
// attach` lists them, with the reason). Teardown closes troupe's own connections only.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/backend.hpp"
#include "actors/params.hpp"

namespace troupe::backends::attach {

struct attached_node {
  std::string id;
  std::string program;
  std::map<std::string, std::string> vars;
};

struct attach_options {
  std::vector<attached_node> nodes;
  std::string discovery; ///< registry URL (empty: the list only)
  duration window = std::chrono::seconds(30);
  duration poll = std::chrono::seconds(1);                 ///< how often the registry is asked
  duration poll_interval = std::chrono::milliseconds(500); ///< how often each node is asked
};

attach_options read_options(params_reader& r);

class attach_backend final : public backend {
public:
  attach_backend();
  ~attach_backend() override;

  std::string name() const override { return "attach"; }
  deployment deploy(caf::actor_system& sys, const scenario& s, const expanded_topology& topo,
                    const run_env& env) override;
  void drive(caf::actor_system& sys, const std::function<bool()>& done) override;
  void teardown() noexcept override;
  std::optional<std::string> refusal(const fault_request& r, const scenario& s,
                                     const expanded_topology& topo) const override;
  nlohmann::json results() const override;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace troupe::backends::attach
