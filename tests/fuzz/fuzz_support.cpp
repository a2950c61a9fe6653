// The harnesses' shared support: the input as a file, and (in the test build) the registry
// of targets that corpus_test.cpp runs.

#include "tests/fuzz/fuzz_target.hpp"

#include <map>
#include <sys/mman.h>
#include <unistd.h>

namespace troupe::fuzz {

input_file::input_file(const uint8_t* data, size_t size) {
  fd_ = ::memfd_create("troupe-fuzz-input", MFD_CLOEXEC);
  check(fd_ >= 0, "memfd_create");
  size_t off = 0;
  while (off < size) {
    const ssize_t w = ::write(fd_, data + off, size - off);
    check(w > 0, "write to memfd");
    off += static_cast<size_t>(w);
  }
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

input_file::~input_file() {
  if (fd_ >= 0)
    ::close(fd_);
}

} // namespace troupe::fuzz
