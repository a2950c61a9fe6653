#pragma once
// Jobs counted by type and status, the one count every view of a campaign uses: the `jobs`
// workload's series, the Prometheus gauge troupe_jobs and the `troupe jobs serve` dashboard.

#include "jobs/engine.hpp"
#include "jobs/replay/replay.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace troupe::jobs {

using type_status_counts = std::map<std::pair<std::string, std::string>, int64_t>;

/// Jobs by (type, engine status); replay jobs (with `replay`) by their replay-test status
/// instead (WAITING_4_WORKER, STARTED, ..., COMPLETE). Only pairs with jobs appear.
type_status_counts count_by_type_and_status(const engine& e, const replay_service* replay);

/// Summed over types. Without `replay`, every engine status is present (0 when none).
std::map<std::string, uint64_t> count_by_status(const type_status_counts& counts, bool replay);

} // namespace troupe::jobs
