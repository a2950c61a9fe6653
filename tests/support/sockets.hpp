#pragma once
// Loopback ports for tests: one held busy for as long as a test needs it, or one that was
// free a moment ago; a connection to one, and what it sends until its end.
//
//   troupe::test::busy_port busy;          // listening on 127.0.0.1:busy.port
//   auto p = troupe::test::free_port();

#include <cstdint>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace troupe::test {

/// A socket listening on a port of 127.0.0.1 the kernel chose; closed with the object.
struct busy_port {
  int fd = -1;
  uint16_t port = 0;

  busy_port() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd, 16) != 0)
      return;
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  busy_port(const busy_port&) = delete;
  busy_port& operator=(const busy_port&) = delete;
  ~busy_port() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// A port of 127.0.0.1 that was free a moment ago.
inline int free_port() { return busy_port{}.port; }

/// A socket connected to 127.0.0.1:`port`, or -1 when nothing accepts there.
inline int dial_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
    return fd;
  if (fd >= 0)
    ::close(fd);
  return -1;
}

/// Everything `fd` receives until its EOF (or a read error, or its receive timeout).
inline std::string read_to_eof(int fd) {
  std::string got;
  char buf[65536];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      return got;
    got.append(buf, static_cast<size_t>(n));
  }
}

} // namespace troupe::test
