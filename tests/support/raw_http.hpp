#pragma once
// A raw HTTP/1.1 client for server tests, over a real loopback socket: the bytes on the wire
// are exactly the ones under test (pipelined, split, malformed, trickled), and every read
// waits a bounded time. From a chosen source address: 127.0.0.2 plays "another host".
//
//   troupe::test::raw_http_client c{port};
//   c.send(troupe::test::http_post("/v1/jobs", R"({"type": "t"})"));
//   auto a = c.read_answer();            // status, head, body; nullopt when closed or 10 s

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>

namespace troupe::test {

/// One answer off the wire.
struct http_answer {
  int status = 0;
  std::string head;
  std::string body;
  std::string header(const std::string& name) const {
    const auto at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos)
      return "";
    const auto from = at + 4 + name.size();
    return head.substr(from, head.find("\r\n", from) - from);
  }
};

/// A raw loopback client from a chosen source address (127.0.0.2 plays "another host").
class raw_http_client {
public:
  explicit raw_http_client(int port, const char* from = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &src.sin_addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~raw_http_client() { close(); }
  raw_http_client(const raw_http_client&) = delete;
  raw_http_client& operator=(const raw_http_client&) = delete;

  bool connected() const { return connected_; }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

  /// Sends all of `bytes` within 10 s (false when the server closed or stopped reading).
  bool send(const std::string& bytes) {
    size_t off = 0;
    const auto t0 = std::chrono::steady_clock::now();
    while (off < bytes.size() && elapsed(t0) < 10) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 10) <= 0)
        continue;
      const ssize_t w =
        ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        continue;
      if (w <= 0)
        return false;
      off += static_cast<size_t>(w);
    }
    return off == bytes.size();
  }

  /// The next whole answer within `seconds`, or nullopt (closed, or nothing came).
  std::optional<http_answer> read_answer(double seconds = 10) { return read(seconds, false); }
  /// The answer to a HEAD request: its headers say a Content-Length, but no body follows.
  std::optional<http_answer> read_head_answer(double seconds = 10) { return read(seconds, true); }
  /// read_answer and read_head_answer: bounded by `seconds`.
  std::optional<http_answer> read(double seconds, bool head_request) {
    const auto t0 = std::chrono::steady_clock::now();
    while (elapsed(t0) < seconds) {
      const auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        http_answer a;
        a.head = buf_.substr(0, end + 2);
        a.status = std::atoi(buf_.c_str() + 9);
        const auto cl = a.header("Content-Length");
        const size_t length = head_request || cl.empty() ? 0 : std::stoul(cl);
        if (buf_.size() >= end + 4 + length) {
          a.body = buf_.substr(end + 4, length);
          buf_.erase(0, end + 4 + length);
          return a;
        }
      }
      if (!fill(10))
        return std::nullopt;
    }
    return std::nullopt;
  }

  /// True once the server has closed the connection (within `seconds`); what it sent before
  /// is kept for read_answer.
  bool closed_by_server(double seconds = 10) {
    const auto t0 = std::chrono::steady_clock::now();
    while (elapsed(t0) < seconds)
      if (!fill(10))
        return true;
    return false;
  }
  /// Non-blocking: has the server closed the connection by now?
  bool closed_now() { return !fill(0); }
  const std::string& unread() const { return buf_; }

private:
  bool fill(int ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0)
      return true;
    char b[65536];
    const ssize_t r = ::recv(fd_, b, sizeof b, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
      return false;
    if (r > 0)
      buf_.append(b, static_cast<size_t>(r));
    return true;
  }

  static double elapsed(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

inline std::string http_post(const std::string& path, const std::string& body,
                             const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

inline std::string http_get(const std::string& path, const std::string& extra_headers = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra_headers + "\r\n";
}

} // namespace troupe::test
