// Fuzz target: the node program reader (a user's program JSON file, as a scenario's
// `"program": "path.json"` loads it), on any bytes. Seeds: backends/programs/*.json.

#include "actors/errors.hpp"
#include "backends/local/program.hpp"
#include "tests/fuzz/fuzz_target.hpp"

TROUPE_FUZZ_TARGET(program) {
  troupe::fuzz::input_file file(data, size);
  try {
    const auto p = troupe::backends::local::load_program(file.path());
    troupe::fuzz::check(p != nullptr, "a loaded program");
  } catch (const troupe::user_error&) {
  }
  return 0;
}
