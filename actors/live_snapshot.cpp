#include "actors/live_snapshot.hpp"

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
              {"refusals_total", refusals_total},
              {"active_faults", active_faults},
              {"history", json{{"time_s", t_s},
                               {"height_min", h_min},
                               {"height_median", h_median},
                               {"height_max", h_max},
                               {"messages", messages_at},
                               {"drops", drops_at},
                               {"txs_included", included_at}}}};
}

} // namespace troupe
