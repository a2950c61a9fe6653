#pragma once
// The live status line of a run in the terminal, redrawn by the run's views (run_views).

#include <string>

#include "actors/live_snapshot.hpp"

namespace troupe {

/// The one-line terminal rendering: "[ 123.0s/600s] nodes 30/30 height 12..14 ...".
std::string progress_line(const live_snapshot& s);

} // namespace troupe
