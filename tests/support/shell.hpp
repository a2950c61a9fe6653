#pragma once
// Running a command line from a test: one shell, bounded by `timeout`, stdout and stderr
// together, the exit code as the shell reports it.
//
//   auto o = troupe::test::shell("troupe validate x.json", 120, source_dir());
//   EXPECT_EQ(o.code, 2) << o.out;

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include <sys/wait.h>

#include "tests/support/paths.hpp"

namespace troupe::test {

struct shell_outcome {
  int code = -1;   ///< the exit code; -1 when killed by a signal or not started
  std::string out; ///< stdout and stderr together
};

/// `s` quoted for a POSIX shell.
inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// Runs `cmd` with `sh -c` from `cwd` (the working directory when empty), killed after
/// `seconds`, with no stdin.
inline shell_outcome shell(const std::string& cmd, int seconds,
                           const std::filesystem::path& cwd = {}) {
  std::string full =
    "timeout " + std::to_string(seconds) + " sh -c " + shell_quote(cmd) + " 2>&1 </dev/null";
  if (!cwd.empty())
    full = "cd " + shell_quote(cwd.string()) + " && " + full;
  shell_outcome o;
  FILE* p = popen(full.c_str(), "r");
  if (!p)
    return o;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
    o.out.append(buf.data(), n);
  const int status = pclose(p);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

/// `troupe ARGS` (this build's binary) from the source root, where examples and their
/// reproduce commands name scenarios relatively; bounded to `seconds`.
inline shell_outcome troupe_cli(const std::string& args, int seconds = 120) {
  return shell(shell_quote(troupe_binary()) + " " + args, seconds, source_dir());
}

} // namespace troupe::test
