// Fuzz target: the replay-test config reader (`troupe jobs serve --replay-config FILE`), on
// any bytes; a config it accepts must also load into a replay service and answer its
// summary. Seeds: scenarios/data/replay-test/test-*.json.

#include "actors/errors.hpp"
#include "jobs/engine.hpp"
#include "jobs/replay/replay.hpp"
#include "tests/fuzz/fuzz_target.hpp"

TROUPE_FUZZ_TARGET(replay_config) {
  troupe::fuzz::input_file file(data, size);
  try {
    const auto slices = troupe::jobs::load_replay_config(file.path());
    troupe::fuzz::check(!slices.empty(), "a config has slices");
    if (slices.size() > 10'000)
      return 0; // valid, and only slower to load
    troupe::jobs::engine e(nullptr);
    troupe::jobs::replay_service svc(e, {});
    svc.load(slices, 0);
    troupe::fuzz::check(svc.jobs().size() == slices.size(), "one job per slice");
    (void) svc.summary_text();
  } catch (const troupe::user_error&) {
  }
  return 0;
}
