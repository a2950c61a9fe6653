#pragma once
// A fleet of real OpenSSH servers on this machine for the ssh backend's tests and bench_fleet:
// host i listens on 127.0.0.(2+i) (the whole 127.0.0.0/8 is loopback on Linux), on a port that
// was free there, with its own host key, its own client key in its own authorized_keys, its own
// sshd_config and working directory under `root`. Each sshd runs in the foreground (-D) as a
// child of the test, its PID kept in `root/hostN/sshd.pid`, and is stopped by that PID.
//
//   troupe::test::sshd_fleet fleet{build_dir() + "/test-runs/ssh-x", 4};
//   if (!fleet.error().empty()) GTEST_SKIP() << fleet.error();
//   fleet.write_inventory(dir / "hosts.json");
//
// sshd needs its privilege-separation directory /run/sshd (made when missing) and must run as
// root to accept logins as root; without either the fleet reports why and a test skips.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/shell.hpp"
#include "tests/support/wait.hpp"

namespace troupe::test {

/// One sshd of the fleet.
struct sshd_host {
  std::string address;            ///< 127.0.0.N
  uint16_t port = 0;              ///< its listening port
  std::filesystem::path dir;      ///< its working directory (config, keys, logs)
  std::filesystem::path identity; ///< the client key it accepts (private half)
  std::filesystem::path host_pub; ///< its host key (public half), for known_hosts
  pid_t pid = -1;                 ///< the sshd listener (stopped by this PID)
  std::string name() const { return "host" + address.substr(address.rfind('.') + 1); }
};

namespace detail {

/// A port that was free on `address` a moment ago (0 when none could be bound).
inline uint16_t free_port_on(const std::string& address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  if (fd >= 0)
    ::close(fd);
  return port;
}

/// Whether something accepts TCP connections on address:port.
inline bool accepts(const std::string& address, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

} // namespace detail

class sshd_fleet {
public:
  static constexpr const char* sshd_binary = "/usr/sbin/sshd";

  /// Starts `n` sshd under `root` (emptied first) and waits until each accepts connections;
  /// on any failure, error() says why and every sshd started so far is stopped.
  sshd_fleet(const std::filesystem::path& root, size_t n, size_t first = 2)
    : root_(root) {
    if (::geteuid() != 0) {
      error_ = "sshd accepts root logins only when started by root; run the ssh tests as root";
      return;
    }
    if (::access(sshd_binary, X_OK) != 0) {
      error_ = std::string(sshd_binary) + " is missing: install openssh-server "
                                          "(TROUPE_SKIP_BUILD=1 scripts/setup.sh)";
      return;
    }
    std::error_code ec;
    std::filesystem::create_directories("/run/sshd", ec); // privilege separation
    std::filesystem::remove_all(root_, ec);
    std::filesystem::create_directories(root_, ec);
    for (size_t i = 0; i < n && error_.empty(); ++i)
      start_one(first + i);
    for (auto& h : hosts_) {
      if (!error_.empty())
        break;
      if (!wait_until([&] { return detail::accepts(h.address, h.port) || !alive(h); },
                      std::chrono::seconds(20)) ||
          !alive(h))
        error_ = "sshd on " + h.address + ":" + std::to_string(h.port) + " did not start; see " +
                 (h.dir / "sshd.log").string();
    }
    if (!error_.empty())
      stop();
  }
  ~sshd_fleet() { stop(); }
  sshd_fleet(const sshd_fleet&) = delete;
  sshd_fleet& operator=(const sshd_fleet&) = delete;

  const std::string& error() const { return error_; }
  const std::vector<sshd_host>& hosts() const { return hosts_; }
  const std::filesystem::path& root() const { return root_; }

  /// The inventory of the ssh backend for these hosts (user root, each host's own key).
  nlohmann::json inventory() const {
    nlohmann::json hosts = nlohmann::json::array();
    for (auto& h : hosts_)
      hosts.push_back({{"name", h.name()},
                       {"address", h.address},
                       {"port", h.port},
                       {"user", "root"},
                       {"identity", h.identity.string()}});
    return {{"hosts", hosts}, {"known_hosts", (root_ / "known_hosts").string()}};
  }
  void write_inventory(const std::filesystem::path& p) const {
    std::ofstream{p} << inventory().dump(2) << "\n";
  }

  /// `ssh` to host `i` with its own key and the fleet's known_hosts, outside troupe: a shell
  /// command line running `cmd` there.
  std::string ssh_command(size_t i, const std::string& cmd) const {
    const auto& h = hosts_.at(i);
    return "ssh -o BatchMode=yes -o UserKnownHostsFile=" + (root_ / "known_hosts").string() +
           " -o StrictHostKeyChecking=yes -i " + h.identity.string() + " -p " +
           std::to_string(h.port) + " root@" + h.address + " " + shell_quote(cmd);
  }

  /// Whether process `pid` runs on host `i`, asked there over ssh: its /proc entry is there and
  /// not a zombie (an exited child nobody reaped yet has stopped all the same).
  bool alive_on(size_t i, const std::string& pid) const {
    return shell(ssh_command(i, "s=$(cut -d' ' -f3 /proc/" + pid +
                                  "/stat 2>/dev/null); [ -n \"$s\" ] && [ \"$s\" != Z ]"),
                 30)
             .code == 0;
  }

  /// The index of the host named `name` (sshd_host::name()), or hosts().size().
  size_t index_of(const std::string& name) const {
    size_t i = 0;
    while (i < hosts_.size() && hosts_[i].name() != name)
      ++i;
    return i;
  }

  /// Stops one sshd listener by its PID (its open sessions go on; tests of an unreachable
  /// host use this).
  void stop_host(size_t i) {
    auto& h = hosts_.at(i);
    if (h.pid <= 0)
      return;
    ::kill(h.pid, SIGTERM);
    int status = 0;
    if (!wait_until([&] { return ::waitpid(h.pid, &status, WNOHANG) == h.pid; },
                    std::chrono::seconds(10))) {
      ::kill(h.pid, SIGKILL);
      ::waitpid(h.pid, &status, 0);
    }
    std::error_code ec;
    std::filesystem::remove(h.dir / "sshd.pid", ec);
    h.pid = -1;
  }

  /// Stops every sshd by PID. Idempotent.
  void stop() {
    for (size_t i = 0; i < hosts_.size(); ++i)
      stop_host(i);
  }

private:
  static bool alive(const sshd_host& h) {
    int status = 0;
    return h.pid > 0 && ::waitpid(h.pid, &status, WNOHANG) == 0;
  }

  void start_one(size_t octet) {
    sshd_host h;
    h.address = "127.0.0." + std::to_string(octet);
    h.dir = root_ / ("host" + std::to_string(octet));
    std::filesystem::create_directories(h.dir);
    h.port = detail::free_port_on(h.address);
    if (h.port == 0) {
      error_ = "cannot bind a port on " + h.address;
      return;
    }
    h.identity = h.dir / "client_key";
    h.host_pub = h.dir / "host_key.pub";
    auto keygen = shell("ssh-keygen -q -t ed25519 -N '' -C troupe-test -f " +
                          shell_quote((h.dir / "host_key").string()) + " && ssh-keygen -q -t " +
                          "ed25519 -N '' -C troupe-test -f " + shell_quote(h.identity.string()) +
                          " && cp " + shell_quote(h.identity.string() + ".pub") + " " +
                          shell_quote((h.dir / "authorized_keys").string()),
                        30);
    if (keygen.code != 0) {
      error_ = "ssh-keygen failed for " + h.address + ": " + keygen.out;
      return;
    }
    write_config(h);
    // The client side's known_hosts for every fleet host ("[addr]:port key").
    std::ifstream pub{h.host_pub};
    std::string type, key;
    pub >> type >> key;
    std::ofstream{root_ / "known_hosts", std::ios::app} << "[" << h.address << "]:" << h.port << " "
                                                        << type << " " << key << "\n";
    spawn(h);
    hosts_.push_back(h);
  }

  static void write_config(const sshd_host& h) {
    std::ofstream c{h.dir / "sshd_config"};
    c << "ListenAddress " << h.address << ":" << h.port << "\n"
      << "HostKey " << (h.dir / "host_key").string() << "\n"
      << "AuthorizedKeysFile " << (h.dir / "authorized_keys").string() << "\n"
      << "PidFile " << (h.dir / "sshd.pid").string() << "\n"
      << "PermitRootLogin prohibit-password\n"
      << "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
      // The build directory's modes are the checkout's, not ~/.ssh's.
      << "StrictModes no\n"
      // Many sessions per connection (one per agent) and many connections at once (a fleet
      // deploy opens 32 at a time against one machine).
      << "MaxSessions 64\nMaxStartups 256:30:512\n"
      << "LogLevel ERROR\nPrintMotd no\nUseDNS no\n"
      // Debian's bash sources ~/.bashrc for a command run by sshd when SHLVL is unset, and
      // root's ~/.bashrc on a development machine can be heavy (pyenv's init: a dozen
      // processes per session, and python3 behind a shell shim). A fleet host's service
      // account would not pay that per command; SHLVL=1 makes bash skip it here.
      << "SetEnv SHLVL=1\n";
  }

  void spawn(sshd_host& h) {
    const std::string cfg = (h.dir / "sshd_config").string();
    const std::string log = (h.dir / "sshd.log").string();
    pid_t pid = ::fork();
    if (pid == 0) {
      // sshd re-executes itself and needs an absolute path; -D: stay in the foreground (this
      // PID is the listener), -e: log to stderr (its sshd.log).
      std::freopen(log.c_str(), "a", stderr);
      std::freopen("/dev/null", "r", stdin);
      ::execl(sshd_binary, sshd_binary, "-D", "-e", "-f", cfg.c_str(), nullptr);
      ::_exit(127);
    }
    h.pid = pid; // sshd writes the same PID to its PidFile, sshd.pid
  }

  std::filesystem::path root_;
  std::vector<sshd_host> hosts_;
  std::string error_;
};

} // namespace troupe::test
