#pragma once
// The one URL splitter of the code base: every `http://HOST[:PORT][/path]` a user gives
// (adapter settings, --url of `troupe jobs`, a Prometheus base URL) is read here, with the
// same rules and the same one-sentence errors.

#include <string>

namespace troupe {

struct http_url {
  std::string host;
  int port = 80;
  std::string path; ///< "" or "/..." without a trailing slash

  /// "http://HOST:PORT", what an HTTP client is built from.
  std::string origin() const;
};

struct url_rules {
  bool scheme_optional = false; ///< "HOST:PORT" is read as "http://HOST:PORT"
  bool port_required = false;   ///< without one: an error, not port 80
  bool path_allowed = true;
};

/// Splits `url`; throws user_error "<where>: ..." naming what is wrong and the form to use.
http_url parse_http_url(const std::string& url, const std::string& where, url_rules rules = {});

} // namespace troupe
