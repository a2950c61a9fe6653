#include "backends/compose/compose_file.hpp"

#include "backends/compose/image_builder.hpp"

namespace troupe::backends::compose {

using nlohmann::json;

std::string container_name(const std::string& run_id, const std::string& node) {
  return run_id + "-" + node;
}

nlohmann::json agent_command(uint16_t port, const std::string& token_path) {
  return json::array(
    {"agent", "--listen", "0.0.0.0:" + std::to_string(port), "--token-file", token_path});
}

std::string published_on_loopback(uint16_t port) {
  const auto p = std::to_string(port);
  return "127.0.0.1:" + p + ":" + p;
}

namespace {

json service(const stack_plan& plan, const service_plan& s, const json& labels) {
  json ports = json::array({published_on_loopback(s.agent_port)});
  for (auto p : s.ports)
    ports.push_back(published_on_loopback(p));
  auto mine = labels;
  mine["troupe.node"] = s.node;
  return {
    {"image", s.image},
    {"container_name", container_name(plan.run_id, s.node)},
    {"hostname", s.node},
    {"entrypoint", json::array({image_troupe_path})},
    {"command", agent_command(s.agent_port, "/troupe/token")},
    {"ports", ports},
    {"volumes", json::array({plan.token_file + ":/troupe/token:ro",
                             "node-" + s.node + ":" + container_run_dir})},
    {"networks", json::array({"run"})},
    {"labels", mine},
    // The agent stops its nodes when its orchestrator goes; `down` waits this long.
    {"stop_grace_period", "30s"},
    {"logging", {{"driver", "json-file"}, {"options", {{"max-size", "1m"}, {"max-file", "1"}}}}}};
}

} // namespace

json compose_file(const stack_plan& plan) {
  const json labels{{"troupe.run", plan.run_id}};
  json services = json::object();
  json volumes = json::object();
  for (const auto& s : plan.services) {
    services[s.node] = service(plan, s, labels);
    volumes["node-" + s.node] = {{"name", plan.run_id + "-" + s.node}, {"labels", labels}};
  }
  return {{"version", "3.7"},
          {"services", services},
          {"networks", {{"run", {{"name", plan.run_id}, {"labels", labels}}}}},
          {"volumes", volumes}};
}

} // namespace troupe::backends::compose
