#include "actors/url.hpp"

#include "actors/echo.hpp"
#include "actors/errors.hpp"

namespace troupe {

std::string http_url::origin() const { return "http://" + host + ":" + std::to_string(port); }

http_url parse_http_url(const std::string& url, const std::string& where, url_rules rules) {
  const std::string form = rules.port_required ? "http://HOST:PORT" : "http://HOST[:PORT]";
  auto fail = [&](const std::string& what) -> http_url {
    throw user_error(where + ": " + what + " in " + echo(url) + "; write it as " + form +
                     (rules.path_allowed ? "[/path]" : ""));
  };
  std::string rest = url;
  const auto scheme_end = rest.find("://");
  if (scheme_end != std::string::npos) {
    if (rest.compare(0, scheme_end, "http") != 0)
      return fail("the scheme is not http (troupe speaks plain HTTP)");
    rest = rest.substr(scheme_end + 3);
  } else if (!rules.scheme_optional) {
    return fail("no http:// scheme");
  }
  http_url out;
  const auto slash = rest.find('/');
  if (slash != std::string::npos) {
    out.path = rest.substr(slash);
    rest.resize(slash);
    while (!out.path.empty() && out.path.back() == '/')
      out.path.pop_back();
    if (!out.path.empty() && !rules.path_allowed)
      return fail("a path is not expected");
  }
  const auto colon = rest.rfind(':');
  out.host = rest.substr(0, colon);
  if (out.host.empty())
    return fail("no host");
  if (colon == std::string::npos) {
    if (rules.port_required)
      return fail("no port");
    return out;
  }
  const std::string port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return fail("a bad port");
  out.port = std::stoi(port);
  if (out.port < 1 || out.port > 65535)
    return fail("a port outside 1..65535");
  return out;
}

} // namespace troupe
