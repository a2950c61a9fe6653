#pragma once
// Clock skew of real nodes through libfaketime (Debian package `faketime`): each node's
// process starts with libfaketime preloaded and reading its settings from a control file of
// its own (FAKETIME_TIMESTAMP_FILE, no cache), which the agent rewrites to change the node's
// offset and drift while it runs. Only the wall clock moves (FAKETIME_DONT_FAKE_MONOTONIC):
// as in the simulator, skew changes what a node decides, never how long its timers take. A
// drift counts from the process start, as the simulator's counts from the start of the run.
//
// Programs that do not read time through libc (time_source.hpp) cannot be skewed this way;
// clock_skew_refusal says why before any run.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace troupe::backends::agent {

/// Where libfaketime is: $TROUPE_FAKETIME_LIB when set, else the Debian package's path;
/// nothing when the file is not there.
std::optional<std::filesystem::path> faketime_library();

/// Why the clock of a node running `binary` cannot be skewed (libfaketime missing, or the
/// binary does not read time through libc), in one sentence, or nothing.
std::optional<std::string> clock_skew_refusal(const std::filesystem::path& binary);

/// libfaketime's spec for an offset and a drift: "+7200.000000000 x1.000100000" (locale-free).
std::string faketime_spec(int64_t offset_ns, double drift_ppm);

/// The clock of one node: its control file and the environment that makes its process obey it.
class node_clock {
public:
  /// Replaces the control file's content with `line` at once (a rename, so the node never
  /// reads half a line); throws std::runtime_error when it cannot. The default writes on this
  /// machine; a node on another host has its file written there (by its agent).
  using writer = std::function<void(const std::filesystem::path& file, const std::string& line)>;
  static void write_here(const std::filesystem::path& file, const std::string& line);

  // -- constructors -----------------------------------------------------------

  /// Writes `control_file` with no skew; `library` is libfaketime's path (both on the node's
  /// host).
  node_clock(std::filesystem::path control_file, std::filesystem::path library,
             writer write = write_here);

  // -- properties -------------------------------------------------------------

  /// What the node's process needs in its environment (LD_PRELOAD keeps troupe's own).
  std::vector<std::pair<std::string, std::string>> environment() const;
  const std::filesystem::path& control_file() const { return file_; }
  int64_t offset_ns() const;
  double drift_ppm() const;

  // -- changes ----------------------------------------------------------------

  /// Rewrites the control file at once (a rename, so the node never reads half a line): in
  /// effect from the node's next clock read. Throws std::runtime_error when it cannot write.
  void set(int64_t offset_ns, double drift_ppm);

private:
  std::filesystem::path file_;
  std::filesystem::path library_;
  writer write_;
  mutable std::mutex mutex_;
  int64_t offset_ns_ = 0;
  double drift_ppm_ = 0;
};

} // namespace troupe::backends::agent
