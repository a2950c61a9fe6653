#include "backends/agent/payloads.hpp"

#include "backends/agent/protocol.hpp"

namespace troupe::backends::agent {

using nlohmann::json;

namespace {

const char* kind_name(link_change::kind_t k) {
  switch (k) {
    case link_change::shape:
      return "shape";
    case link_change::cut:
      return "cut";
    case link_change::clog:
      return "clog";
    case link_change::heal:
      return "heal";
    case link_change::unclog:
      return "unclog";
  }
  return "heal";
}

} // namespace

json to_json(const node_spec& n) {
  const auto& p = n.process;
  json env = json::array();
  for (const auto& [k, v] : p.env)
    env.push_back({k, v});
  return {{"id", p.id},
          {"binary", p.binary},
          {"args", p.args},
          {"env", env},
          {"cwd", p.cwd.string()},
          {"log_path", p.log_path.string()},
          {"pid_path", p.pid_path.string()},
          {"log_bytes_max", p.log_bytes_max},
          {"log_files_max", p.log_files_max},
          {"stop_grace_ms", n.stop_grace.count()}};
}

node_spec node_spec_from_json(const json& j) {
  node_spec n;
  auto& p = n.process;
  p.id = field<std::string>(j, "id");
  p.binary = field<std::string>(j, "binary");
  p.args = field_or<std::vector<std::string>>(j, "args", {});
  for (const auto& kv : field_or<std::vector<std::vector<std::string>>>(j, "env", {})) {
    if (kv.size() != 2)
      throw protocol_error("field \"env\" must hold [name, value] pairs");
    p.env.emplace_back(kv[0], kv[1]);
  }
  p.cwd = field<std::string>(j, "cwd");
  p.log_path = field<std::string>(j, "log_path");
  p.pid_path = field<std::string>(j, "pid_path");
  p.log_bytes_max = field_or<uint64_t>(j, "log_bytes_max", p.log_bytes_max);
  p.log_files_max = field_or<uint32_t>(j, "log_files_max", p.log_files_max);
  n.stop_grace = std::chrono::milliseconds(field_or<int64_t>(j, "stop_grace_ms", 5000));
  return n;
}

json to_json(const link_change& c) {
  json out{{"kind", kind_name(c.kind)}, {"from", c.from}, {"to", c.to}};
  if (c.kind == link_change::shape)
    out["shape"] = {{"latency_ns", c.new_shape.latency_ns},
                    {"jitter_ns", c.new_shape.jitter_ns},
                    {"bandwidth_bps", c.new_shape.bandwidth_bps}};
  return out;
}

link_change link_change_from_json(const json& j) {
  link_change c;
  auto kind = field<std::string>(j, "kind");
  bool known = false;
  for (auto k : {link_change::shape, link_change::cut, link_change::clog, link_change::heal,
                 link_change::unclog})
    if (kind == kind_name(k)) {
      c.kind = k;
      known = true;
    }
  if (!known)
    throw protocol_error("link change kind \"" + kind +
                         "\" is not one of shape, cut, clog, heal, unclog");
  c.from = field<std::string>(j, "from");
  c.to = field<std::string>(j, "to");
  if (c.kind == link_change::shape) {
    auto s = field<json>(j, "shape");
    c.new_shape.latency_ns = field_or<int64_t>(s, "latency_ns", 0);
    c.new_shape.jitter_ns = field_or<int64_t>(s, "jitter_ns", 0);
    c.new_shape.bandwidth_bps = field_or<int64_t>(s, "bandwidth_bps", 0);
  }
  return c;
}

json to_json(const link_stats& s) {
  return {{"from", s.from},
          {"to", s.to},
          {"mode", to_string(s.mode)},
          {"latency_ns", s.shape.latency_ns},
          {"jitter_ns", s.shape.jitter_ns},
          {"bandwidth_bps", s.shape.bandwidth_bps},
          {"bytes_relayed", s.bytes_relayed},
          {"bytes_dropped", s.bytes_dropped},
          {"bytes_lost", s.bytes_lost},
          {"bytes_held", s.bytes_held},
          {"bytes_held_total", s.bytes_held_total},
          {"chunks", s.chunks},
          {"connections", s.connections},
          {"connections_refused", s.connections_refused},
          {"connections_cut", s.connections_cut},
          {"delay_counts", s.delay_counts},
          {"delay_ms_sum", s.delay_ms_sum},
          {"delay_ms_max", s.delay_ms_max}};
}

link_stats link_stats_from_json(const json& j) {
  link_stats s;
  s.from = field<std::string>(j, "from");
  s.to = field<std::string>(j, "to");
  auto mode = field<std::string>(j, "mode");
  for (auto m : {link_mode::open, link_mode::cut, link_mode::clogged})
    if (mode == to_string(m))
      s.mode = m;
  s.shape.latency_ns = field<int64_t>(j, "latency_ns");
  s.shape.jitter_ns = field<int64_t>(j, "jitter_ns");
  s.shape.bandwidth_bps = field<int64_t>(j, "bandwidth_bps");
  s.bytes_relayed = field<uint64_t>(j, "bytes_relayed");
  s.bytes_dropped = field<uint64_t>(j, "bytes_dropped");
  s.bytes_lost = field<uint64_t>(j, "bytes_lost");
  s.bytes_held = field<uint64_t>(j, "bytes_held");
  s.bytes_held_total = field<uint64_t>(j, "bytes_held_total");
  s.chunks = field<uint64_t>(j, "chunks");
  s.connections = field<uint64_t>(j, "connections");
  s.connections_refused = field<uint64_t>(j, "connections_refused");
  s.connections_cut = field<uint64_t>(j, "connections_cut");
  auto counts = field<std::vector<uint64_t>>(j, "delay_counts");
  for (size_t i = 0; i < counts.size() && i < s.delay_counts.size(); ++i)
    s.delay_counts[i] = counts[i];
  s.delay_ms_sum = field<double>(j, "delay_ms_sum");
  s.delay_ms_max = field<double>(j, "delay_ms_max");
  return s;
}

const char* to_string(local::process_state s) noexcept {
  switch (s) {
    case local::process_state::idle:
      return "idle";
    case local::process_state::running:
      return "running";
    case local::process_state::paused:
      return "paused";
    case local::process_state::exited:
      return "exited";
  }
  return "idle";
}

local::process_state process_state_from_string(const std::string& s) {
  for (auto st : {local::process_state::idle, local::process_state::running,
                  local::process_state::paused, local::process_state::exited})
    if (s == to_string(st))
      return st;
  throw protocol_error("process state \"" + s + "\" is not one of idle, running, paused, exited");
}

} // namespace troupe::backends::agent
