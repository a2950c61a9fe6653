#pragma once
// The local backend's one host: this machine, its nodes on 127.0.0.1 with their files in the
// run directory (nodes/), and one agent: on a thread of troupe ("in-process") or a child
// process `troupe agent --stdio` ("child"), by the backend param "agent".

#include <memory>

#include "backends/local/hosts.hpp"

namespace troupe::backends::local {

class local_hosts : public hosts {
public:
  std::string backend() const override { return "local"; }
  local_options options(const scenario& s) const override;
  std::vector<started> start(const scenario& s, const expanded_topology& topo, const run_env& env,
                             const local_options& o, const handler_for& on_event) override;
  std::vector<size_t> placement() const override { return std::vector<size_t>(nodes_, 0); }
  void close() noexcept override;
  void add_results(nlohmann::json& out) const override { out["agent"] = agent_info_; }

private:
  std::shared_ptr<agent::connection> agent_;
  size_t nodes_ = 0;
  nlohmann::json agent_info_;
};

} // namespace troupe::backends::local
