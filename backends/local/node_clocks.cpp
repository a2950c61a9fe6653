#include "backends/local/node_clocks.hpp"

#include "backends/local/world.hpp"

namespace troupe::backends::local {

std::shared_ptr<agent::node_clock> make_node_clock(const program& p,
                                                   const std::filesystem::path& nodes_dir,
                                                   const std::string& id,
                                                   agent::node_clock::writer write) {
  auto lib = agent::faketime_library();
  if (!lib || capabilities::skew_refusal(p))
    return nullptr;
  return std::make_shared<agent::node_clock>(nodes_dir / (id + ".faketime"), *lib,
                                             std::move(write));
}

agent::node_clock::writer written_by(std::shared_ptr<agent::connection> a) {
  return [a](const std::filesystem::path& file, const std::string& line) {
    try {
      a->call("write_clock", {{"file", file.string()}, {"line", line}}, std::chrono::seconds(30));
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot write the clock control file " + file.string() +
                               " on its host: " + e.what());
    }
  };
}

namespace {

bool skews(const nlohmann::json& v) {
  if (v.is_object()) {
    if (v.contains("clock_skew") || (v.contains("action") && v["action"] == "skew"))
      return true;
    for (auto& [k, x] : v.items())
      if (skews(x))
        return true;
  } else if (v.is_array()) {
    for (auto& x : v)
      if (skews(x))
        return true;
  }
  return false;
}

} // namespace

bool asks_for_skew(const scenario& s) {
  for (const auto& w : s.workloads)
    if (skews(w.params))
      return true;
  return false;
}

control_ack skew_node(world& w, const clock_skew_cmd& cmd) {
  fault_request r;
  r.action = "skew";
  r.nodes = {cmd.node};
  if (auto no = w.refused(r))
    return *no;
  for (size_t i = 0; i < w.nodes.size(); ++i) {
    if (w.nodes[i].info.id != cmd.node)
      continue;
    auto clock = i < w.clocks.size() ? w.clocks[i] : nullptr;
    if (!clock)
      return {false, "node " + cmd.node +
                       " was started without libfaketime: the scenario asks for no clock skew, "
                       "so the local backend did not preload it (backend param \"faketime\": "
                       "\"always\" does)"};
    try {
      clock->set(cmd.offset_ns, cmd.drift_ppm);
    } catch (const std::exception& e) {
      return {false, e.what()};
    }
    return {true, ""};
  }
  return {false, "clock skew names unknown node \"" + cmd.node + "\""};
}

} // namespace troupe::backends::local
