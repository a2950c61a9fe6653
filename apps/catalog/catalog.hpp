#pragma once
// Fills the registry with every built-in kind: workloads, expectations, node models, node
// programs and backends; and connects the runner's observer interfaces to report/ (the
// report writer and the live views). Idempotent; the command line and the tests call it first.

#include "actors/registry.hpp"

namespace troupe {

void register_catalog(registry& reg = registry::global());

} // namespace troupe
