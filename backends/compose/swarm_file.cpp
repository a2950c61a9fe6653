#include "backends/compose/swarm_file.hpp"

#include "backends/compose/image_builder.hpp"

namespace troupe::backends::compose {

using nlohmann::json;

std::string service_name(const std::string& run_id, const std::string& node) {
  return run_id + "_" + node;
}

namespace {

json service(const service_plan& s, const json& labels) {
  auto mine = labels;
  mine["troupe.node"] = s.node;
  return {
    {"image", s.image},
    {"hostname", s.node},
    {"entrypoint", json::array({image_troupe_path})},
    {"command", agent_command(s.agent_port, swarm_token_path)},
    {"secrets", json::array({{{"source", "token"}, {"target", "troupe-token"}}})},
    {"volumes", json::array({"node-" + s.node + ":" + container_run_dir})},
    {"networks", json::array({"run"})},
    // Container labels (a task's container), then the service's own under deploy.
    {"labels", mine},
    {"deploy", {{"replicas", 1}, {"restart_policy", {{"condition", "none"}}}, {"labels", mine}}},
    {"stop_grace_period", "30s"},
    {"logging", {{"driver", "json-file"}, {"options", {{"max-size", "1m"}, {"max-file", "1"}}}}}};
}

} // namespace

json swarm_file(const stack_plan& plan) {
  const json labels{{"troupe.run", plan.run_id}};
  json services = json::object();
  json volumes = json::object();
  for (const auto& s : plan.services) {
    services[s.node] = service(s, labels);
    volumes["node-" + s.node] = {{"name", plan.run_id + "-" + s.node}, {"labels", labels}};
  }
  return {
    {"version", "3.7"},
    {"services", services},
    {"networks",
     {{"run",
       {{"name", plan.run_id}, {"driver", "overlay"}, {"attachable", true}, {"labels", labels}}}}},
    {"volumes", volumes},
    {"secrets",
     {{"token",
       {{"name", plan.run_id + "-token"}, {"file", plan.token_file}, {"labels", labels}}}}}};
}

} // namespace troupe::backends::compose
