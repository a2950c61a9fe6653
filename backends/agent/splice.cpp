#include "backends/agent/splice.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <vector>

namespace troupe::backends::agent {

namespace {

constexpr size_t held_bytes_max = 64 * 1024;

/// One direction of the splice: what was read from `from` and is not yet written to `to`.
struct splice_direction {
  int from;
  int to;
  std::vector<char> held;
  size_t written = 0; ///< of held
  bool ended = false; ///< `from` said EOF and everything held went out (`to` shut for writes)

  bool holding() const { return written < held.size(); }

  /// Reads what `from` has; false when the stream broke.
  bool read_from() {
    held.resize(held_bytes_max);
    written = 0;
    for (;;) {
      auto n = ::recv(from, held.data(), held.size(), 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        held.clear();
        return true;
      }
      if (n < 0) {
        held.clear();
        return false;
      }
      held.resize(static_cast<size_t>(n));
      if (n == 0) {
        ended = true;
        ::shutdown(to, SHUT_WR);
      }
      return true;
    }
  }

  /// Writes what is held to `to`; false when the stream broke.
  bool write_to() {
    while (holding()) {
      auto n = ::send(to, held.data() + written, held.size() - written, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
      if (n < 0)
        return false;
      written += static_cast<size_t>(n);
    }
    return true;
  }
};

void make_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

} // namespace

void splice_both_ways(int a, int b, int stop_fd) {
  make_nonblocking(a);
  make_nonblocking(b);
  splice_direction dirs[2] = {{a, b, {}, 0, false}, {b, a, {}, 0, false}};
  while (!(dirs[0].ended && dirs[1].ended)) {
    pollfd fds[3] = {{a, 0, 0}, {b, 0, 0}, {stop_fd, POLLIN, 0}};
    for (auto& d : dirs) {
      auto& from = fds[d.from == a ? 0 : 1];
      auto& to = fds[d.to == a ? 0 : 1];
      if (d.holding())
        to.events |= POLLOUT;
      else if (!d.ended)
        from.events |= POLLIN;
    }
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if (fds[2].revents & POLLIN)
      return;
    bool moved = false;
    for (auto& d : dirs) {
      const auto& from = fds[d.from == a ? 0 : 1];
      const auto& to = fds[d.to == a ? 0 : 1];
      if (d.holding() && (to.revents & (POLLOUT | POLLERR | POLLHUP))) {
        const auto before = d.written;
        if (!d.write_to())
          return;
        moved = moved || d.written != before;
      }
      if (!d.holding() && !d.ended && (from.revents & (POLLIN | POLLERR | POLLHUP))) {
        if (!d.read_from() || !d.write_to())
          return;
        moved = moved || d.ended || !d.held.empty();
      }
    }
    // A socket hung up with nothing left to move: what is still awaited cannot come.
    const bool hung = ((fds[0].revents | fds[1].revents) & (POLLERR | POLLHUP)) != 0;
    if (hung && !moved)
      return;
  }
}

} // namespace troupe::backends::agent
