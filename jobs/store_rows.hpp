#pragma once
// What every store writes the same way: a job's dependencies as one text column.
// (Internal to the stores.)

#include "jobs/job.hpp"

#include <string>

namespace troupe::jobs::detail {

/// "" without dependencies, else {"ids": [...], "after": [[type, key], ...]}.
std::string deps_to_text(const job& j);
void deps_from_text(const std::string& text, job& j);

} // namespace troupe::jobs::detail
