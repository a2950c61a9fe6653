#include "backends/agent/log_follower.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "actors/log_scan.hpp"

namespace troupe::backends::agent {

namespace fs = std::filesystem;

log_follower::log_follower(fs::path log)
  : log_(std::move(log)) {}

log_follower::~log_follower() {
  if (fd_ >= 0)
    ::close(fd_);
}

namespace {

/// Hands `fd`'s bytes from `offset` to its end to `sink`; returns how many.
uint64_t pump(int fd, uint64_t& offset, const log_follower::sink_fn& sink) {
  struct stat st {};
  if (::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) < offset)
    offset = 0; // truncated in place: what is there now is new
  char buf[1 << 16];
  uint64_t total = 0;
  for (;;) {
    auto n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return total;
    offset += static_cast<uint64_t>(n);
    total += static_cast<uint64_t>(n);
    sink(buf, static_cast<size_t>(n));
  }
}

} // namespace

void log_follower::drain(const sink_fn& sink) { bytes_ += pump(fd_, offset_, sink); }

void log_follower::read_whole(const fs::path& p, const sink_fn& sink) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && !done_.count(st.st_ino) && st.st_ino != ino_) {
    uint64_t offset = 0;
    bytes_ += pump(fd, offset, sink);
    done_.insert(st.st_ino);
  }
  ::close(fd);
}

void log_follower::read_rotated(const sink_fn& sink) {
  // Oldest first; those read before (and the one open) are skipped by inode.
  auto files = node_log_files(log_);
  files.pop_back(); // the current log, opened by the caller
  std::set<ino_t> present;
  for (const auto& p : files) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0)
      present.insert(st.st_ino);
    read_whole(p, sink);
  }
  // Only inodes still present can come back (a removed file's inode may be reused).
  for (auto it = done_.begin(); it != done_.end();)
    it = present.count(*it) ? std::next(it) : done_.erase(it);
}

void log_follower::read_new(const sink_fn& sink) {
  // At most a few rounds: each one ends at a file that was current when it was opened.
  for (int round = 0; round < 4; ++round) {
    if (fd_ >= 0)
      drain(sink);
    struct stat st {};
    const bool exists = ::stat(log_.c_str(), &st) == 0;
    if (fd_ >= 0 && exists && st.st_ino == ino_)
      return; // not rotated: everything there was read
    if (fd_ >= 0) {
      // Rotated (or removed): the supervisor closed it first, so what it holds is final.
      drain(sink);
      done_.insert(ino_);
      ::close(fd_);
      fd_ = -1;
      ino_ = 0;
    }
    read_rotated(sink);
    if (!exists)
      return; // not started yet, or between a rotation's rename and its open
    fd_ = ::open(log_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
      return;
    seen_ = true;
    struct stat now {};
    ::fstat(fd_, &now);
    ino_ = now.st_ino;
    offset_ = 0;
    if (done_.count(ino_)) {
      ::close(fd_); // cannot happen with the supervisor's rotation; never read a file twice
      fd_ = -1;
      ino_ = 0;
      return;
    }
  }
}

} // namespace troupe::backends::agent
