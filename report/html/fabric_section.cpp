#include "report/html/sections.hpp"

#include "report/html/elements.hpp"

namespace troupe::html {

using nlohmann::json;

// The link relays' own account of a live run (report.json `fabric`), one row per link.
std::string fabric_section(const json& r) {
  const auto& links = at(at(r, "fabric"), "links");
  if (!links.is_array() || links.empty())
    return "";
  const size_t rows_max = 200;
  std::string out = "<table id=\"fabric-table\" class=\"grid\"><thead><tr><th>link</th>"
                    "<th>mode</th><th>latency</th><th>relayed</th><th>dropped</th>"
                    "<th>lost</th><th>held (total)</th><th>connections</th><th>cut</th>"
                    "<th>mean delay</th></tr></thead><tbody>";
  for (size_t i = 0; i < links.size() && i < rows_max; ++i) {
    const auto& l = links[i];
    const auto& d = at(l, "delay_ms");
    out += "<tr><td>" + html_escape(str(l, "from") + " → " + str(l, "to")) + "</td><td>" +
           html_escape(str(l, "mode")) + "</td><td>" + num(l.value("latency_ms", 0.0), 1) +
           " ms</td><td>" + str(l, "bytes_relayed") + " B</td><td>" + str(l, "bytes_dropped") +
           " B</td><td>" + str(l, "bytes_lost", "0") + " B</td><td>" + str(l, "bytes_held_total") +
           " B</td><td>" + str(l, "connections") + "</td><td>" + str(l, "connections_cut") +
           "</td><td>" + num(d.is_object() ? d.value("mean", 0.0) : 0.0, 1) + " ms</td></tr>";
  }
  out += "</tbody></table>";
  if (links.size() > rows_max)
    out += note(std::to_string(links.size() - rows_max) + " more links in report.json.");
  return section("fabric", "Link relays",
                 note("Every byte between live nodes went through these relays: relayed to the "
                      "receiver, dropped by a cut, lost with a connection that ended without a "
                      "fault, held by a clog.") +
                   out);
}

} // namespace troupe::html
