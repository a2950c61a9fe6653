#include "backends/local/local_hosts.hpp"

#include "actors/errors.hpp"

namespace troupe::backends::local {

namespace fs = std::filesystem;

local_options local_hosts::options(const scenario& s) const {
  // A scenario of another backend run with --backend local keeps none of its params.
  return read_section(s.backend.name == "local" ? s.backend.params : nlohmann::json::object(),
                      "backend", read_options);
}

std::vector<hosts::started> local_hosts::start(const scenario&, const expanded_topology& topo,
                                               const run_env& env, const local_options& o,
                                               const handler_for& on_event) {
  nodes_ = topo.nodes.size();
  try {
    if (o.agent == "child") {
      agent::child_agent_options co;
      co.binary = o.agent_binary.empty() ? agent_binary_default() : o.agent_binary;
      co.log_path = env.run_dir / "agent.log";
      co.pid_path = env.run_dir / "agent.pid";
      agent_ = agent::connection::start_child(co, on_event(0));
    } else {
      agent_ = agent::connection::start_in_process(on_event(0));
    }
  } catch (const agent::agent_error& e) {
    throw user_error(std::string("the local backend could not start its agent: ") + e.what());
  }
  agent_info_ = {{"mode", o.agent}, {"pid", agent_->agent_pid()}};
  live_host h;
  h.nodes_dir = fs::absolute(env.run_dir / "nodes");
  return {{h, agent_}};
}

void local_hosts::close() noexcept {
  // The end of its stream is the agent's cue to stop whatever is left, and exit.
  if (agent_)
    agent_->close();
  agent_.reset();
}

} // namespace troupe::backends::local
