#pragma once
#include "actors/registry.hpp"

namespace troupe::workloads {

/// Adds every built-in workload kind; one line per kind in register.cpp.
void register_all(registry& reg);

} // namespace troupe::workloads
