#include "backends/agent/netns_payloads.hpp"

#include "backends/agent/protocol.hpp"

namespace troupe::backends::agent {

using nlohmann::json;

uint32_t ipv4_field(const json& j, const char* key) {
  auto v = field<int64_t>(j, key);
  if (v < 0 || v > int64_t{0xffffffff})
    throw protocol_error(std::string("field \"") + key +
                         "\" must be an IPv4 address as a number (0 to 4294967295)");
  return static_cast<uint32_t>(v);
}

uint16_t port_field(const json& j, const char* key) {
  auto v = field<int64_t>(j, key);
  if (v < 0 || v > 65535)
    throw protocol_error(std::string("field \"") + key + "\" must be a port (0 to 65535)");
  return static_cast<uint16_t>(v);
}

json to_json(const node_netns::redirect& r) {
  return {{"addr", r.addr}, {"port", r.port}, {"to_addr", r.to_addr}, {"to_port", r.to_port}};
}

node_netns::redirect redirect_from_json(const json& j) {
  node_netns::redirect r;
  r.addr = ipv4_field(j, "addr");
  r.port = port_field(j, "port");
  r.to_addr = ipv4_field(j, "to_addr");
  r.to_port = port_field(j, "to_port");
  return r;
}

json to_json(const node_netns::drop_rule& r) {
  return {{"outgoing", r.outgoing}, {"addr", r.addr}, {"port", r.port}, {"p", r.p}};
}

node_netns::drop_rule drop_rule_from_json(const json& j) {
  node_netns::drop_rule r;
  r.outgoing = field<bool>(j, "outgoing");
  r.addr = ipv4_field(j, "addr");
  r.port = port_field(j, "port");
  r.p = field<double>(j, "p");
  if (!(r.p >= 0 && r.p <= 1))
    throw protocol_error("field \"p\" must be a probability (0 to 1)");
  return r;
}

json to_json(const host_netns::forward& f) {
  return {{"id", f.id}, {"listen_addr", f.listen_addr}, {"port", f.port}};
}

host_netns::forward forward_from_json(const json& j) {
  return {field<std::string>(j, "id"), ipv4_field(j, "listen_addr"), port_field(j, "port")};
}

json to_json(const host_netns::made& m) {
  return {{"index", m.index},
          {"name", m.name},
          {"root_addr", m.root_addr},
          {"inner_addr", m.inner_addr},
          {"exec_prefix", m.exec_prefix}};
}

host_netns::made made_from_json(const json& j) {
  host_netns::made m;
  m.index = field<size_t>(j, "index");
  m.name = field<std::string>(j, "name");
  m.root_addr = ipv4_field(j, "root_addr");
  m.inner_addr = ipv4_field(j, "inner_addr");
  m.exec_prefix = field<std::vector<std::string>>(j, "exec_prefix");
  if (m.exec_prefix.empty())
    throw protocol_error("field \"exec_prefix\" must name the command that enters the namespace");
  return m;
}

} // namespace troupe::backends::agent
