#include "apps/catalog/catalog.hpp"

#include <mutex>

#include "backends/register_live.hpp"
#include "backends/sim/sim_backend.hpp"
#include "expectations/register.hpp"
#include "report/run_report.hpp"
#include "report/run_views.hpp"
#include "services/sync_http.hpp"
#include "workloads/register.hpp"

namespace troupe {

void register_catalog(registry& reg) {
  static std::once_flag once;
  auto fill = [&reg] {
    // One line per area; each area's register function adds its kinds.
    workloads::register_all(reg);
    expectations::register_all(reg);
    backends::register_sim(reg);
    backends::register_live(reg);
    // What the runner reports through (actors/run_observer.hpp).
    reg.set_reporter(write_run_report);
    reg.set_views(make_run_views);
    // How live runs serve their sync service to node-side scripts.
    reg.set_sync_endpoint(services::make_sync_endpoint);
  };
  if (&reg == &registry::global())
    std::call_once(once, fill);
  else
    fill();
}

} // namespace troupe
