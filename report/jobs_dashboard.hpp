#pragma once
// The live dashboard page of `troupe jobs serve --serve PORT`: counts by status, jobs by
// status over time, completions per sample, the failure queue, phase latencies and the
// requests the server answered. Served by troupe::dashboard (actors/dashboard.hpp) from a
// jobs_monitor's snapshot; the page refreshes itself every second from /api/status.

#include <nlohmann/json.hpp>

#include <string>

namespace troupe::jobs {

/// The page, with `snapshot` (jobs_monitor::snapshot()) rendered into it.
std::string jobs_dashboard_page(const nlohmann::json& snapshot);

} // namespace troupe::jobs
