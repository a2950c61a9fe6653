#pragma once
// What every PostgreSQL client of troupe needs from libpq (the job store, the events
// database): a connection whose failure is one sentence naming the database (its URL with
// the password hidden), the cause and the fix, and results that free themselves.

#include <string>

#include <libpq-fe.h>

namespace troupe::jobs {

/// A PGresult that frees itself.
struct pg_result {
  PGresult* r;
  explicit pg_result(PGresult* p)
    : r(p) {}
  ~pg_result() { PQclear(r); }
  pg_result(const pg_result&) = delete;
  pg_result& operator=(const pg_result&) = delete;
  ExecStatusType status() const { return r ? PQresultStatus(r) : PGRES_FATAL_ERROR; }
  bool ok() const { return status() == PGRES_COMMAND_OK || status() == PGRES_TUPLES_OK; }
  /// The server's message, without its trailing newline.
  std::string error() const;
};

/// The connection's error message: its last line, which says why.
std::string pg_message(PGconn* conn);

/// `url` with its password replaced by ***.
std::string pg_redact(const std::string& url);

/// Connects to `url` (a postgresql:// URL or a libpq connection string; connect timeout
/// 10 s). Throws troupe::user_error naming `what` (e.g. "job database"), the redacted URL,
/// the cause (credentials refused, no such database, not a URL, unreachable) and the fix,
/// which names `option` (e.g. "--store") as the way to give another URL.
PGconn* pg_connect(const std::string& url, const std::string& what, const std::string& option,
                   const std::string& application);

} // namespace troupe::jobs
