// Fuzz target: the scenario reader, as `troupe validate FILE` reaches it (load_scenario, with
// every built-in kind registered), on any bytes. Seeds: scenarios/*.json.

#include "actors/errors.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "tests/fuzz/fuzz_target.hpp"

TROUPE_FUZZ_TARGET(scenario) {
  static const bool registered = (troupe::register_catalog(), true);
  (void) registered;
  troupe::fuzz::input_file file(data, size);
  try {
    const auto s = troupe::load_scenario(file.path());
    // What was read writes back and reads again as the same scenario (scenario_json.hpp).
    const auto again = troupe::scenario_from_json(troupe::to_json(s));
    troupe::fuzz::check(troupe::to_json(again) == troupe::to_json(s), "read(write(s)) == s");
  } catch (const troupe::user_error&) {
    // a bad scenario, reported to the user: the expected answer to most inputs
  }
  return 0;
}
