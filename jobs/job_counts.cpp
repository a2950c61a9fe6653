#include "jobs/job_counts.hpp"

#include <array>

namespace troupe::jobs {

type_status_counts count_by_type_and_status(const engine& e, const replay_service* replay) {
  type_status_counts out;
  if (replay)
    for (const auto& j : replay->jobs())
      ++out[{"replay", std::string(to_string(j.status))}];
  // Per type, an array by status: no allocation per job.
  std::map<std::string, std::array<int64_t, job_status_count>, std::less<>> per_type;
  for (job_id id = 1; id <= static_cast<job_id>(e.size()); ++id) {
    const job* j = e.find(id);
    if (!j || (replay && j->type == "replay"))
      continue;
    auto it = per_type.find(j->type);
    if (it == per_type.end())
      it = per_type.emplace(j->type, std::array<int64_t, job_status_count>{}).first;
    ++it->second[static_cast<int>(j->status)];
  }
  for (const auto& [type, by_status] : per_type)
    for (int s = 0; s < job_status_count; ++s)
      if (by_status[s] > 0)
        out[{type, std::string(to_string(static_cast<job_status>(s)))}] = by_status[s];
  return out;
}

std::map<std::string, uint64_t> count_by_status(const type_status_counts& counts, bool replay) {
  std::map<std::string, uint64_t> out;
  if (!replay)
    for (int s = 0; s < job_status_count; ++s)
      out[std::string(to_string(static_cast<job_status>(s)))] = 0;
  for (const auto& [key, n] : counts)
    out[key.second] += static_cast<uint64_t>(n);
  return out;
}

} // namespace troupe::jobs
