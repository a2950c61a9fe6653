#include "backends/local/node_clocks.hpp"

#include "backends/local/world.hpp"

namespace troupe::backends::local {

std::shared_ptr<agent::node_clock>
make_node_clock(const program& p, const std::filesystem::path& nodes_dir, const std::string& id) {
  auto lib = agent::faketime_library();
  if (!lib || capabilities::skew_refusal(p))
    return nullptr;
  return std::make_shared<agent::node_clock>(nodes_dir / (id + ".faketime"), *lib);
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
      return {false, "node " + cmd.node + " was started without a libfaketime clock"};
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
