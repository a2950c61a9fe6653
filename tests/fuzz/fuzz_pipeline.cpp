// Fuzz target: the pipeline file reader (`troupe jobs serve --pipeline FILE`), on any bytes;
// a pipeline it accepts must also load into an engine. Seeds: the pipelines in tests/fuzz/
// corpus/pipeline/ (those of scenarios/ and the tests).

#include "actors/errors.hpp"
#include "jobs/engine.hpp"
#include "tests/fuzz/fuzz_target.hpp"

TROUPE_FUZZ_TARGET(pipeline) {
  troupe::fuzz::input_file file(data, size);
  try {
    const auto p = troupe::jobs::load_pipeline_file(file.path());
    troupe::fuzz::check(!p.stages.empty() && p.stages.size() == p.policies.size(),
                        "a pipeline has a policy per stage");
    troupe::jobs::engine e(nullptr);
    e.add_pipeline(p);
    e.enqueue_pipeline(p.name, 1, "{}", 0);
  } catch (const troupe::user_error&) {
  }
  return 0;
}
