#pragma once
// What the `troupe jobs ...` commands do, as library calls (the CLI only parses flags).

#include "jobs/engine.hpp"
#include "jobs/http/http_types.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace troupe::jobs {

/// Summary of a database, offline (no server needed): the native summary, plus the
/// replay-test summary when the database holds a replay campaign.
nlohmann::json database_status(const std::string& db);
std::string format_status(const nlohmann::json& status);

/// Manual retry of a failed job directly in a database (the server must not be running on
/// it; with a server, use retry_over_http). Throws user_error when the job is unknown or
/// not failed.
void retry_in_database(const std::string& db, job_id id);

/// Talks to a running server: GET {url}/v1/summary, POST {url}/v1/jobs/{id}/retry.
nlohmann::json status_over_http(const std::string& url);
/// `token`: an admin token when the server requires tokens (empty: none sent).
void retry_over_http(const std::string& url, job_id id, const std::string& token = "");

/// Creates a token of `scope` ("worker" or "admin") in the database `db` (created when
/// missing) and returns it: it is shown once, only its SHA-256 digest is kept. Throws
/// user_error for an unknown scope.
std::string create_token_in_database(const std::string& db, const std::string& scope);

} // namespace troupe::jobs
