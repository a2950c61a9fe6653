#pragma once
// Registers the live side of troupe: the `local` backend and every built-in node program
// (backends/programs/*.json), plus the validator for programs named by a file path.

namespace troupe {
class registry;
}

namespace troupe::backends {

void register_live(troupe::registry& reg);

} // namespace troupe::backends
