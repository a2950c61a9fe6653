#include "jobs/job.hpp"

namespace troupe::jobs {

namespace {
constexpr std::string_view status_names[job_status_count] = {
  "waiting", "created", "processing", "pending_verification", "verifying", "completed", "failed",
};
} // namespace

std::string_view to_string(job_status s) noexcept { return status_names[static_cast<int>(s)]; }

std::optional<job_status> status_from_string(std::string_view s) noexcept {
  for (int i = 0; i < job_status_count; ++i)
    if (status_names[i] == s)
      return static_cast<job_status>(i);
  return std::nullopt;
}

bool is_terminal(job_status s) noexcept {
  return s == job_status::completed || s == job_status::failed;
}

bool is_leased(job_status s) noexcept {
  return s == job_status::processing || s == job_status::verifying;
}

std::string_view to_string(phase p) noexcept { return p == phase::process ? "process" : "verify"; }

std::optional<verdict> verdict_from_string(std::string_view s) noexcept {
  if (s == "pass")
    return verdict::pass;
  if (s == "pending")
    return verdict::pending;
  if (s == "reject")
    return verdict::reject;
  return std::nullopt;
}

std::string_view to_string(outcome o) noexcept {
  switch (o) {
    case outcome::ok:
      return "ok";
    case outcome::duplicate:
      return "duplicate";
    case outcome::not_found:
      return "not_found";
    case outcome::not_owner:
      return "not_owner";
    case outcome::wrong_state:
      return "wrong_state";
    case outcome::stale_fence:
      return "stale_fence";
  }
  return "?";
}

} // namespace troupe::jobs
