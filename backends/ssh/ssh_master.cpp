#include "backends/ssh/ssh_master.hpp"

#include "backends/ssh/keeper.hpp"

#include "actors/errors.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace troupe::backends::ssh {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

namespace {

// ssh creates a control socket as PATH.XXXXXXXXXXXXXXXX and renames it: 17 more bytes.
constexpr size_t socket_suffix = 17;

std::string file_text(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool has(const std::string& text, const char* what) { return text.find(what) != std::string::npos; }

} // namespace

fs::path control_dir_for(const fs::path& run_dir, size_t hosts) {
  const auto longest = std::string("/cm-") + std::to_string(hosts);
  auto in_run = fs::absolute(run_dir) / "ssh" / "cm";
  if ((in_run.string() + longest).size() + socket_suffix < sizeof(sockaddr_un::sun_path)) {
    fs::create_directories(in_run);
    return in_run;
  }
  // A deep run directory: a short one, named after this process, that the teardown removes
  // (and `troupe fleet gc` would find by its name after a kill -9).
  auto tmp = fs::path("/tmp") / ("troupe-cm-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  std::ofstream{fs::absolute(run_dir) / "ssh" / "control_dir"} << tmp.string() << "\n";
  return tmp;
}

ssh_master::ssh_master(ssh_host host, const ssh_settings& s, size_t index)
  : host_(std::move(host))
  , s_(s)
  , socket_(s.control_dir / ("cm-" + std::to_string(index))) {}

ssh_master::~ssh_master() { close(); }

fs::path ssh_master::log_path() const { return s_.state_dir / (host_.name + ".ssh.log"); }

std::vector<std::string> ssh_master::base_args() const {
  const auto run_known = (s_.state_dir / "known_hosts").string();
  std::string trusted = s_.known_hosts.empty() ? "~/.ssh/known_hosts" : s_.known_hosts;
  std::string files = s_.host_keys == "strict"
                        ? trusted + " " + run_known
                        : run_known + (s_.known_hosts.empty() ? "" : " " + s_.known_hosts);
  const auto timeout = std::max<long>(1, s_.connect_timeout.count() / 1000);
  const char* checking = s_.host_keys == "strict" ? "yes" : "accept-new";
  // clang-format off
  std::vector<std::string> a = {
    s_.ssh_binary,
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=" + std::to_string(timeout),
    // A host that vanishes (a provisioned machine destroyed, a network cut) ends the master
    // within 15 s, and with it its agent session.
    "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
    "-o", "UserKnownHostsFile=" + files,
    "-o", std::string("StrictHostKeyChecking=") + checking,
    // The run's known_hosts is for people to read too (which hosts, which keys).
    "-o", "HashKnownHosts=no",
    "-o", "LogLevel=ERROR",
    "-S", socket_.string(),
    "-p", std::to_string(host_.port)};
  // clang-format on
  if (!host_.identity.empty()) {
    a.insert(a.end(), {"-i", host_.identity, "-o", "IdentitiesOnly=yes"});
  }
  return a;
}

std::vector<std::string> ssh_master::command(const std::string& remote) const {
  auto a = base_args();
  a.insert(a.end(), {"-o", "ControlMaster=no", "-T", host_.destination(), "--", remote});
  return a;
}

process_result ssh_master::run(const std::string& remote, milliseconds timeout,
                               const std::string& stdin_file) const {
  return run_process(command(remote), timeout, stdin_file);
}

uint16_t ssh_master::forward_here(uint16_t port) const {
  auto args = base_args();
  args.insert(args.end(),
              {"-O", "forward", "-R", "0:127.0.0.1:" + std::to_string(port), host_.destination()});
  const auto r = run_process(args, milliseconds(10000));
  // With -O forward, ssh prints the port sshd allocated on standard output.
  const long allocated = r.code == 0 ? std::strtol(r.out.c_str(), nullptr, 10) : 0;
  if (allocated <= 0 || allocated > 65535)
    throw host_error("host " + host_.describe() + " would not forward a port back to this " +
                     "machine (its sshd needs AllowTcpForwarding yes): " +
                     (r.err.empty() ? "ssh said nothing" : r.err.substr(0, r.err.find('\n'))));
  return static_cast<uint16_t>(allocated);
}

bool ssh_master::alive() const {
  int status = 0;
  return pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == 0;
}

std::string ssh_master::try_open() {
  auto args = base_args();
  args.insert(args.end(), {"-M", "-N", "-o", "ControlPersist=no", host_.destination()});
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::error_code ec;
  fs::remove(socket_, ec);
  const auto log = log_path().string();
  { std::ofstream truncate{log}; }
  const pid_t parent = ::getpid();
  pid_t pid = fork_on_keeper([&] {
    pid_t pid = ::fork();
    if (pid == 0) {
      // Dies with troupe (even by kill -9): every session over it drops, so each agent reads
      // EOF and stops its nodes. Its own process group: Ctrl-C reaches troupe, which tears down
      // in order.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent)
        ::_exit(127);
      int in = ::open("/dev/null", O_RDWR);
      int err = ::open(log.c_str(), O_WRONLY | O_APPEND);
      ::dup2(in, 0);
      ::dup2(in, 1);
      if (err >= 0)
        ::dup2(err, 2);
      ::close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return pid;
  });
  if (pid < 0)
    return "cannot fork ssh";
  pid_ = pid;
  const auto deadline = steady::now() + s_.connect_timeout + milliseconds(5000);
  // The master creates its control socket once it has authenticated.
  while (steady::now() < deadline && alive() && !fs::exists(socket_))
    std::this_thread::sleep_for(milliseconds(20));
  // The socket exists once the master authenticated, and the master still runs: it serves.
  // (No `ssh -O check`: one process fewer per host, which counts at a hundred hosts.)
  if (fs::exists(socket_) && alive())
    return "";
  const bool timed_out = alive();
  close();
  auto text = file_text(log);
  if (timed_out && text.empty())
    return "timed out";
  return text.empty() ? "ssh ended without saying why" : text;
}

void ssh_master::open() {
  if (::access(s_.ssh_binary.c_str(), X_OK) != 0)
    throw host_error("the ssh client " + s_.ssh_binary +
                     " is missing: install openssh-client on this machine");
  std::string why;
  milliseconds backoff{500};
  for (int attempt = 1; attempt <= std::max(1, s_.attempts); ++attempt) {
    why = try_open();
    if (why.empty())
      return;
    // Only what may pass is tried again: a refused connection (sshd starting), a timeout, a
    // dropped handshake. A refused key or an unknown host key will not change by waiting.
    const bool transient = has(why, "Connection refused") || has(why, "timed out") ||
                           has(why, "Connection closed") || has(why, "reset by peer") ||
                           has(why, "ended without");
    if (!transient || attempt == s_.attempts)
      break;
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
  throw host_error(explain(why));
}

std::string ssh_master::explain(const std::string& log) const {
  const auto h = "host " + host_.describe();
  const std::string trusted = s_.known_hosts.empty() ? "~/.ssh/known_hosts" : s_.known_hosts;
  const auto port = std::to_string(host_.port);
  if (has(log, "IDENTIFICATION HAS CHANGED"))
    return h + " presents a host key other than the one in " + trusted +
           ": if the machine was rebuilt, remove its old line (ssh-keygen -R '[" + host_.address +
           "]:" + port + "' -f " + trusted + ")";
  if (has(log, "Host key verification failed") || has(log, "host key is known"))
    return h + " is not in " + trusted +
           " (host keys are checked strictly): add its key (ssh-keyscan -p " + port + " " +
           host_.address + " >> " + trusted +
           ") or set \"host_keys\": \"accept-new\" in the inventory";
  if (has(log, "Permission denied"))
    return h + " refused the key " +
           (host_.identity.empty() ? std::string("(ssh's default keys)") : host_.identity) +
           " for user " + (host_.user.empty() ? std::string("(this user)") : host_.user) +
           ": add its .pub to that user's authorized_keys on the host, or name the key the host "
           "accepts in the inventory's \"identity\"";
  if (has(log, "Connection refused"))
    return h + " refused the connection on port " + port +
           ": start sshd there, or fix the host's \"port\" in the inventory";
  if (has(log, "Could not resolve"))
    return h + ": the address " + host_.address +
           " does not resolve: fix the host's \"address\" in the inventory";
  if (has(log, "timed out"))
    return h + " did not answer within " + std::to_string(s_.connect_timeout.count() / 1000) +
           " s: check that it is up and that its \"address\" and \"port\" are right";
  if (has(log, "No route") || has(log, "unreachable"))
    return h + " cannot be reached (" + last_line(log) +
           "): check its \"address\" and this machine's network";
  return "cannot connect to " + h + " (ssh says: " + last_line(log) + "); see " +
         log_path().string();
}

void ssh_master::close() noexcept {
  if (pid_ <= 0)
    return;
  if (alive()) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 250 && !gone; ++i) {
      gone = ::waitpid(pid_, &status, WNOHANG) == pid_;
      if (!gone)
        std::this_thread::sleep_for(milliseconds(20));
    }
    if (!gone) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  } else {
    int status = 0;
    ::waitpid(pid_, &status, WNOHANG);
  }
  pid_ = -1;
  std::error_code ec;
  fs::remove(socket_, ec);
}

} // namespace troupe::backends::ssh
