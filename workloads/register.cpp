#include "workloads/register.hpp"

#include "workloads/byzantine.hpp"
#include "workloads/chaos.hpp"
#include "workloads/commands.hpp"
#include "workloads/jobs.hpp"
#include "workloads/steps.hpp"
#include "workloads/transactions.hpp"

namespace troupe::workloads {

void register_all(registry& reg) {
  reg.add_workload(transactions_kind());
  reg.add_workload(chaos_kind());
  reg.add_workload(steps_kind());
  reg.add_workload(jobs_kind());
  reg.add_workload(byzantine_kind());
  reg.add_workload(commands_kind());
}

} // namespace troupe::workloads
