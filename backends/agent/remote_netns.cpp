#include "backends/agent/remote_netns.hpp"

#include "backends/agent/netns_payloads.hpp"
#include "backends/agent/protocol.hpp"

namespace troupe::backends::agent {

using nlohmann::json;
using std::chrono::seconds;

std::optional<std::string> remote_netns::refusal() const {
  auto r = conn_->call("netns_check");
  auto it = r.find("refusal");
  if (it == r.end() || it->is_null())
    return std::nullopt;
  return field<std::string>(r, "refusal");
}

std::vector<host_netns::made> remote_netns::make(const std::string& tag,
                                                 const std::vector<size_t>& indices) {
  // About ten commands per namespace on the host: bounded by their number.
  auto r = conn_->call("netns_make", {{"tag", tag}, {"nodes", indices}},
                       seconds(30 + 5 * static_cast<int64_t>(indices.size())));
  std::vector<host_netns::made> out;
  for (const auto& m : field<json>(r, "namespaces"))
    out.push_back(made_from_json(m));
  return out;
}

void remote_netns::install(size_t index, const std::vector<node_netns::redirect>& out,
                           const std::vector<uint16_t>& ports, uint32_t host_addr,
                           const std::vector<host_netns::forward>& forwards,
                           const std::filesystem::path& rules_file) {
  json redirects = json::array(), fw = json::array();
  for (const auto& r : out)
    redirects.push_back(to_json(r));
  for (const auto& f : forwards)
    fw.push_back(to_json(f));
  conn_->call("netns_install", {{"index", index},
                                {"redirects", redirects},
                                {"ports", ports},
                                {"host_addr", host_addr},
                                {"forwards", fw},
                                {"rules_file", rules_file.string()}});
}

void remote_netns::set_drops(size_t index, const std::vector<node_netns::drop_rule>& rules,
                             const std::filesystem::path& rules_file) {
  json list = json::array();
  for (const auto& r : rules)
    list.push_back(to_json(r));
  conn_->call("netns_drops",
              {{"index", index}, {"rules", list}, {"rules_file", rules_file.string()}});
}

uint64_t remote_netns::dropped_packets() const {
  return field<uint64_t>(conn_->call("netns_dropped"), "packets");
}

void remote_netns::remove() noexcept {
  try {
    conn_->call("netns_remove");
  } catch (const std::exception&) {
    // The agent is gone: it removed them as it went (or its janitor did).
  }
}

} // namespace troupe::backends::agent
