#pragma once
// How a parent learns that its child's exec failed: the child writes its errno into a
// close-on-exec pipe and exits; a successful exec closes the pipe with nothing written.

#include <cerrno>

#include <unistd.h>

namespace troupe::backends::local {

/// Reads the pipe end `fd` until the child wrote its errno or the exec closed it; closes
/// `fd`. Returns that errno, or 0 when the exec succeeded.
inline int exec_errno(int fd) {
  int child_errno = 0;
  ssize_t got;
  do
    got = ::read(fd, &child_errno, sizeof(child_errno));
  while (got < 0 && errno == EINTR);
  ::close(fd);
  return got == sizeof(child_errno) ? child_errno : 0;
}

} // namespace troupe::backends::local
