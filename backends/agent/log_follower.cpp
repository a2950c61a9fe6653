#include "backends/agent/log_follower.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

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

void log_follower::forget_open() {
  ::close(fd_);
  fd_ = -1;
  ino_ = 0;
  offset_ = 0;
}

void log_follower::drain(const sink_fn& sink) { bytes_ += pump(fd_, offset_, sink); }

namespace {

/// A rotated file held open, so a later rename cannot change what it is.
struct held_file {
  int fd = -1;
  ino_t ino = 0;
};

void close_all(std::vector<held_file>& files) {
  for (auto& f : files)
    ::close(f.fd);
  files.clear();
}

std::vector<fs::path> rotated_names(const fs::path& log) {
  auto files = node_log_files(log);
  files.pop_back(); // the current log
  return files;
}

/// The rotated files, oldest first, opened as one consistent picture: the names listed and
/// their inodes are the same before and after opening them all, so no rotation moved a file
/// between two names while they were opened (a rotation renames every one). False when a few
/// attempts all overlapped a rotation (a node writing log_bytes_max in well under a
/// millisecond): then nothing is held, and the caller tries again at its next read.
bool hold_rotated(const fs::path& log, std::vector<held_file>& held) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    close_all(held);
    const auto names = rotated_names(log);
    std::vector<ino_t> before;
    for (const auto& p : names) {
      struct stat st {};
      before.push_back(::stat(p.c_str(), &st) == 0 ? st.st_ino : 0);
    }
    bool same = true;
    for (size_t i = 0; same && i < names.size(); ++i) {
      held_file f;
      f.fd = ::open(names[i].c_str(), O_RDONLY | O_CLOEXEC);
      struct stat st {};
      if (f.fd >= 0 && ::fstat(f.fd, &st) == 0)
        f.ino = st.st_ino;
      same = f.fd >= 0 && f.ino == before[i];
      if (f.fd >= 0)
        held.push_back(f);
    }
    if (same && rotated_names(log) == names)
      return true;
  }
  close_all(held);
  return false;
}

} // namespace

bool log_follower::read_rotated(const sink_fn& sink) {
  // Oldest first; those read before are skipped by inode. The one open is where it stops:
  // what is newer comes after the open file's remaining bytes, read once it is rotated.
  std::vector<held_file> held;
  if (!hold_rotated(log_, held))
    return false;
  std::set<ino_t> present;
  bool reached_open = false;
  for (const auto& f : held) {
    present.insert(f.ino);
    reached_open = reached_open || (fd_ >= 0 && f.ino == ino_);
    if (reached_open || done_.count(f.ino))
      continue;
    uint64_t offset = 0;
    bytes_ += pump(f.fd, offset, sink);
    done_.insert(f.ino);
  }
  close_all(held);
  // Only inodes still present can come back (a removed file's inode may be reused).
  for (auto it = done_.begin(); it != done_.end();)
    it = present.count(*it) ? std::next(it) : done_.erase(it);
  return true;
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
      forget_open();
    }
    if (!read_rotated(sink))
      return; // mid-rotation: the files are read, in order, at the next call
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
      forget_open(); // cannot happen with the supervisor's rotation; never read a file twice
      return;
    }
    // Rotated between the stat and the open: those files come before the one just opened.
    if (!read_rotated(sink)) {
      forget_open();
      return;
    }
  }
}

} // namespace troupe::backends::agent
