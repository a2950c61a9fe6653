// The netns_* ops a host_agent serves (docs/agent-protocol.md, "Network namespaces"): the
// namespaces of the nodes on this host, made, given their rules and drops, and removed by the
// agent itself (host_netns.hpp), so that they work wherever the agent runs.

#include "backends/agent/agent.hpp"
#include "backends/agent/host_netns.hpp"
#include "backends/agent/netns_payloads.hpp"
#include "backends/agent/protocol.hpp"

namespace troupe::backends::agent {

using nlohmann::json;

namespace {

std::filesystem::path rules_file_arg(const json& args) {
  auto file = field<std::string>(args, "rules_file");
  if (file.empty() || file[0] != '/')
    throw protocol_error("field \"rules_file\" must be an absolute path");
  return file;
}

} // namespace

void host_agent::register_netns_ops() {
  netns_ = std::make_unique<host_netns>();
  // Why this host cannot make namespaces (evaluated here, as the user the agent runs as).
  ops_["netns_check"] = {[](const json&) {
    auto why = netns_refusal();
    return why ? json{{"refusal", *why}} : json{{"refusal", nullptr}};
  }};
  // Each op below runs commands (ip, nft): on a thread of its own.
  ops_["netns_make"] = {
    [this](const json& args) {
      json out = json::array();
      for (const auto& m :
           netns_->make(field<std::string>(args, "tag"), field<std::vector<size_t>>(args, "nodes")))
        out.push_back(to_json(m));
      return json{{"namespaces", out}};
    },
    true};
  ops_["netns_install"] = {[this](const json& args) {
                             std::vector<node_netns::redirect> out;
                             for (const auto& r : field_or<json>(args, "redirects", json::array()))
                               out.push_back(redirect_from_json(r));
                             std::vector<host_netns::forward> forwards;
                             for (const auto& f : field_or<json>(args, "forwards", json::array()))
                               forwards.push_back(forward_from_json(f));
                             netns_->install(field<size_t>(args, "index"), out,
                                             field_or<std::vector<uint16_t>>(args, "ports", {}),
                                             ipv4_field(args, "host_addr"), forwards,
                                             rules_file_arg(args));
                             return json::object();
                           },
                           true};
  ops_["netns_drops"] = {[this](const json& args) {
                           std::vector<node_netns::drop_rule> rules;
                           for (const auto& r : field_or<json>(args, "rules", json::array()))
                             rules.push_back(drop_rule_from_json(r));
                           netns_->set_drops(field<size_t>(args, "index"), rules,
                                             rules_file_arg(args));
                           return json::object();
                         },
                         true};
  ops_["netns_dropped"] = {[this](const json&) {
                             return json{{"packets", netns_->dropped_packets()}};
                           },
                           true};
  ops_["netns_remove"] = {[this](const json&) {
                            netns_->remove();
                            return json::object();
                          },
                          true};
}

} // namespace troupe::backends::agent
