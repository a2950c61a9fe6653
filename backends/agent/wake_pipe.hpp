#pragma once
// A pipe that wakes threads blocked in poll(): signal() makes read_fd() readable (and it stays
// so until drain()), so one signal ends every thread that polls it; signal() is one write(),
// safe in a signal handler. Non-blocking and close-on-exec both ends; closed with the object.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace troupe::backends::agent {

class wake_pipe {
public:
  /// Throws std::runtime_error when no pipe can be made.
  wake_pipe() {
    if (::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0)
      throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  ~wake_pipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  wake_pipe(const wake_pipe&) = delete;
  wake_pipe& operator=(const wake_pipe&) = delete;

  /// What to poll for POLLIN.
  int read_fd() const noexcept { return fds_[0]; }
  void signal() const noexcept {
    char b = 1;
    [[maybe_unused]] auto n = ::write(fds_[1], &b, 1);
  }
  /// Reads every pending signal: read_fd() is quiet again until the next one.
  void drain() const noexcept {
    char buf[64];
    while (::read(fds_[0], buf, sizeof buf) > 0) {
    }
  }

private:
  int fds_[2] = {-1, -1};
};

} // namespace troupe::backends::agent
