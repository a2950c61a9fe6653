#include "expectations/register.hpp"

#include "expectations/consensus_liveness.hpp"
#include "expectations/convergence.hpp"
#include "expectations/jobs_complete.hpp"
#include "expectations/log_pattern.hpp"
#include "expectations/metric.hpp"
#include "expectations/safety.hpp"
#include "expectations/tx_inclusion.hpp"

namespace troupe::expectations {

void register_all(registry& reg) {
  reg.add_expectation(consensus_liveness_kind());
  reg.add_expectation(convergence_kind());
  reg.add_expectation(jobs_complete_kind());
  reg.add_expectation(log_pattern_kind());
  reg.add_expectation(metric_kind());
  reg.add_expectation(safety_kind());
  reg.add_expectation(tx_inclusion_kind());
}

} // namespace troupe::expectations
