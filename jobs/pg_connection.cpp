#include "jobs/pg_connection.hpp"

#include "actors/errors.hpp"

namespace troupe::jobs {

namespace {

/// libpq's last line says why, as a clause (no final period).
std::string libpq_reason(const char* message) {
  auto s = last_line(message);
  while (!s.empty() && s.back() == '.')
    s.pop_back();
  return s;
}

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

} // namespace

std::string pg_result::error() const {
  std::string e = r ? PQresultErrorMessage(r) : "no result";
  while (!e.empty() && (e.back() == '\n' || e.back() == ' '))
    e.pop_back();
  return e;
}

std::string pg_message(PGconn* conn) {
  return conn ? libpq_reason(PQerrorMessage(conn)) : "no connection";
}

std::string pg_redact(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos)
    return url;
  const auto start = scheme + 3;
  const auto slash = url.find('/', start);
  const auto at = url.rfind('@', slash == std::string::npos ? std::string::npos : slash);
  if (at == std::string::npos || at < start)
    return url;
  const auto colon = url.find(':', start);
  if (colon == std::string::npos || colon > at)
    return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

PGconn* pg_connect(const std::string& url, const std::string& what, const std::string& option,
                   const std::string& application) {
  // The URL's own settings win over these defaults (expand_dbname: dbname comes last).
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", application.c_str(), url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  if (conn && PQstatus(conn) == CONNECTION_OK)
    return conn;
  const std::string why = conn ? libpq_reason(PQerrorMessage(conn)) : "out of memory";
  const bool needs_password = conn && PQconnectionNeedsPassword(conn);
  if (conn)
    PQfinish(conn);
  const std::string where = what + " '" + pg_redact(url) + "'";
  if (contains(why, "password authentication failed") || contains(why, "no password supplied") ||
      contains(why, "authentication failed") || needs_password)
    throw user_error(where + " refused the credentials (" + why +
                     "): put the right user and password in the URL "
                     "(postgresql://USER:PASSWORD@HOST:PORT/DB) or in ~/.pgpass");
  if (contains(why, "does not exist") && contains(why, "database"))
    throw user_error(where + " does not exist (" + why + "): create it with `createdb` or pass " +
                     "another " + option + " URL");
  if (contains(why, "invalid") || contains(why, "missing") || contains(why, "unknown"))
    throw user_error(where + " is not a valid PostgreSQL URL (" + why +
                     "): write it as postgresql://USER:PASSWORD@HOST:PORT/DB");
  throw user_error(where + " is unreachable (" + why +
                   "): start PostgreSQL there or pass another " + option + " URL");
}

} // namespace troupe::jobs
