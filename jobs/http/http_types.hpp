#pragma once
// The HTTP faces are pure functions from a request value to a response value. The socket
// server (http_server) only converts; simulated replay hosts call the same functions
// directly, so a sim campaign exercises exactly the protocol code that real hosts hit.

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace troupe::jobs {

struct http_request {
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> params;  ///< query, in order
  std::vector<std::pair<std::string, std::string>> headers; ///< names compared case-blind
  std::string body;
  std::string remote; ///< peer address, for lease owners

  bool has_param(const std::string& k) const;
  std::optional<std::string> param(const std::string& k) const;
  std::optional<std::string> header(const std::string& k) const;
};

struct http_response {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;

  std::optional<std::string> header(const std::string& k) const;
};

} // namespace troupe::jobs
