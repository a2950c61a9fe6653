#pragma once
// The views of `troupe run` while it goes: the progress line (stdout is a TTY and not
// --quiet), Prometheus /metrics (--metrics-port) and the live dashboard (--serve). The
// catalog installs make_run_views as the registry's views factory; the runner never includes
// this file.

#include <memory>

#include "actors/run_observer.hpp"

namespace troupe {

/// The views `req` asks for, started. Throws user_error when a port cannot be bound.
std::unique_ptr<run_views> make_run_views(std::shared_ptr<live_status> live,
                                          const run_request& req);

} // namespace troupe
