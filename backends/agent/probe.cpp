#include "backends/agent/probe.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <httplib.h>

namespace troupe::backends::agent {

namespace {

std::string tcp_probe(const std::string& address, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1)
    return "\"" + address + "\" is not an IPv4 address";
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return std::string("no socket: ") + std::strerror(errno);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  int e = errno;
  ::close(fd);
  return ok ? std::string{} : std::string("connect: ") + std::strerror(e);
}

std::string http_probe(const probe_request& r) {
  httplib::Client c{r.address, r.port};
  c.set_connection_timeout(std::chrono::milliseconds(500));
  c.set_read_timeout(std::chrono::milliseconds(1000));
  auto res = c.Get(r.path.c_str());
  if (!res)
    return "GET " + r.path + ": " + httplib::to_string(res.error());
  if (res->status < 200 || res->status >= 300)
    return "GET " + r.path + ": HTTP " + std::to_string(res->status);
  if (!r.expect.empty() && res->body.find(r.expect) == std::string::npos)
    return "GET " + r.path + ": the body does not contain \"" + r.expect + "\"";
  return {};
}

} // namespace

std::string probe_once(const probe_request& r) {
  if (r.kind == "tcp")
    return tcp_probe(r.address, r.port);
  if (r.kind == "http")
    return http_probe(r);
  return "probe kind \"" + r.kind + "\" is not tcp or http";
}

} // namespace troupe::backends::agent
