#pragma once
#include "actors/registry.hpp"

namespace troupe::expectations {

/// Adds every built-in expectation kind; one line per kind in register.cpp.
void register_all(registry& reg);

} // namespace troupe::expectations
