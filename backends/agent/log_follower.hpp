#pragma once
// Reading a node's log as the supervisor writes it, a few bytes at a time: each call hands
// over only the bytes written since the last one, in order, across the supervisor's rotation
// (`<log>` renamed to `<log>.1`, `.1` to `.2`, …, the oldest removed: log_bytes_max,
// log_files_max). The first call starts with the oldest rotated file still there, so what was
// written before anyone asked is counted too.
//
// How: it keeps the file it reads open, so bytes written just before a rotation (or a
// removal, with log_files_max 0) are still read from it; a file is known by its inode, so a
// rotated file is never read twice. What the supervisor removed before it was read (a node
// that wrote more than log_bytes_max × (log_files_max + 1) between two calls) is lost, as it
// is from the run directory.
//
// Not thread-safe: one owner calls read_new.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>

namespace troupe::backends::agent {

class log_follower {
public:
  using sink_fn = std::function<void(const char* data, size_t n)>;

  explicit log_follower(std::filesystem::path log);
  ~log_follower();
  log_follower(const log_follower&) = delete;
  log_follower& operator=(const log_follower&) = delete;

  /// Hands every byte written since the last call to `sink`, oldest first.
  void read_new(const sink_fn& sink);

  /// Bytes handed over so far.
  uint64_t bytes() const noexcept { return bytes_; }
  /// Whether the log existed at a call (a node never started has none).
  bool seen() const noexcept { return seen_; }

private:
  void drain(const sink_fn& sink); ///< the open file, from offset_ to its end
  /// The rotated files not read yet, oldest first, up to the open one; false (nothing read)
  /// when no consistent picture of them could be had.
  bool read_rotated(const sink_fn& sink);
  void forget_open(); ///< closes the open file; what it held is read again from its start

  std::filesystem::path log_;
  int fd_ = -1;   ///< the file read last (may be rotated or removed since)
  ino_t ino_ = 0; ///< its inode
  uint64_t offset_ = 0;
  std::set<ino_t> done_; ///< rotated files read to their end (bounded: pruned to those present)
  uint64_t bytes_ = 0;
  bool seen_ = false;
};

} // namespace troupe::backends::agent
