#pragma once
// The JSON Schema (draft 2020-12) of node program files (`troupe schema program`), generated
// by running the program reader (program.cpp) in describe mode, so it says what loading a
// program accepts. Left to loading: that `ready.port` and `metrics.port` name declared ports,
// series selectors, and the adapter's own keys (checked when the adapter is made).

#include <nlohmann/json.hpp>

namespace troupe::backends::local {

nlohmann::json program_schema();

} // namespace troupe::backends::local
