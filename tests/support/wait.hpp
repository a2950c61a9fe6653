#pragma once
// Waiting on a condition instead of sleeping: a test polls what a user would check (a file,
// a log line, a port, a process state) until it holds or a bounded deadline passes, so it
// neither fails on a slow machine nor waits longer than it must on a fast one.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

namespace troupe::test {

/// Polls `pred` every `poll` until it holds or `limit` passes; returns whether it held.
inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit,
                       std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return pred();
    std::this_thread::sleep_for(poll);
  }
  return true;
}

/// The file's text ("" when it cannot be read).
inline std::string file_text(const std::filesystem::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// How many lines of the file are exactly `line`.
inline size_t count_lines(const std::filesystem::path& p, const std::string& line) {
  std::istringstream in{file_text(p)};
  size_t n = 0;
  for (std::string l; std::getline(in, l);)
    n += l == line;
  return n;
}

/// Whether the file contains `text`.
inline bool file_contains(const std::filesystem::path& p, const std::string& text) {
  return file_text(p).find(text) != std::string::npos;
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
inline bool port_open(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

/// The state letter of a process from /proc/PID/stat (R running, S sleeping, T stopped,
/// Z zombie, ...), or 0 when there is no such process.
inline char process_state(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text;
  std::getline(in, text);
  // "pid (comm) S ...": comm may hold spaces and parentheses; the state follows the last ')'.
  const auto close = text.rfind(')');
  return close == std::string::npos || close + 2 >= text.size() ? 0 : text[close + 2];
}

} // namespace troupe::test
