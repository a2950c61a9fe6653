#include "actors/live_status.hpp"

#include <cstdio>

namespace troupe {

using nlohmann::json;

json live_snapshot::to_json() const {
  return json{{"scenario", scenario},
              {"backend", backend},
              {"virtual_time", virtual_time},
              {"phase", phase},
              {"verdict", verdict},
              {"run_s", run_s},
              {"duration_s", duration_s},
              {"wall_s", wall_s},
              {"nodes_total", nodes_total},
              {"nodes_up", nodes_up},
              {"height_min", height_min},
              {"height_max", height_max},
              {"txs_submitted", txs_submitted},
              {"txs_included", txs_included},
              {"messages", messages},
              {"drops", drops},
              {"faults_total", faults_total},
              {"faults_by_action", faults_by_action},
              {"active_faults", active_faults},
              {"history", json{{"time_s", t_s},
                               {"height_min", h_min},
                               {"height_median", h_median},
                               {"height_max", h_max},
                               {"messages", messages_at},
                               {"drops", drops_at},
                               {"txs_included", included_at}}}};
}

std::string progress_line(const live_snapshot& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "[%7.1fs/%.0fs%s] nodes %zu/%zu  height %lld..%lld  txs %llu/%llu  "
                "msgs %llu  drops %llu  faults %zu",
                s.run_s, s.duration_s, s.virtual_time ? " sim" : "", s.nodes_up, s.nodes_total,
                static_cast<long long>(s.height_min), static_cast<long long>(s.height_max),
                static_cast<unsigned long long>(s.txs_included),
                static_cast<unsigned long long>(s.txs_submitted),
                static_cast<unsigned long long>(s.messages),
                static_cast<unsigned long long>(s.drops), s.active_faults.size());
  std::string out = buf;
  if (!s.active_faults.empty()) {
    out += " (" + s.active_faults.front();
    if (s.active_faults.size() > 1)
      out += ", +" + std::to_string(s.active_faults.size() - 1);
    out += ")";
  }
  // One terminal line: a long fault description must not wrap and break the redraw.
  if (out.size() > 118)
    out = out.substr(0, 115) + "...";
  return out;
}

} // namespace troupe
