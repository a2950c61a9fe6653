#pragma once
// Copying troupe (the agent is the same binary: `troupe agent --stdio`) and the node program
// files to a host once. Files are kept by content, REMOTE_ROOT/bin/<sha256>/<name>: a file
// whose copy is there with that hash is not sent again (the second run on a fleet is quick),
// and a copy that arrives damaged is refused. Each run's own files (the agent's log, node
// data) go to REMOTE_ROOT/runs/<run>/.

#include <filesystem>
#include <string>

#include "backends/ssh/ssh_master.hpp"

namespace troupe::backends::ssh {

/// The file's SHA-256, in hex; throws std::runtime_error when it cannot be read.
std::string sha256_file(const std::filesystem::path& p);

/// `s` quoted for a POSIX shell.
std::string shell_quote(const std::string& s);

struct remote_file {
  std::string path;    ///< on the host
  bool copied = false; ///< false: the host had it already
  /// `then`'s exit code and output (stderr, else stdout) when it was given.
  int then_code = 0;
  std::string then_output;
};

/// Makes sure the host has `local` (whose hash is `sha256`) under `remote_root`; throws
/// host_error with one sentence (a host that lacks sha256sum, a full disk, a damaged copy).
/// `then` (optional) runs on the host once the file is in place, in the same round trip: a
/// shell command where `{file}` is the file's path (e.g. `{file} --version`).
remote_file ensure_file(const ssh_master& m, const std::filesystem::path& local,
                        const std::string& sha256, const std::string& remote_root,
                        const std::string& then = {});

} // namespace troupe::backends::ssh
