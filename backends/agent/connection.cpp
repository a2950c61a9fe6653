#include "backends/agent/connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>

#include "backends/agent/agent.hpp"
#include "backends/agent/protocol.hpp"
#include "backends/local/exec_errno.hpp"

namespace troupe::backends::agent {

using nlohmann::json;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

namespace {

std::string describe_status(int status) {
  if (WIFEXITED(status))
    return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string("signal ") + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

/// The last non-empty line of a (small) log file, or "".
std::string last_log_line(const std::filesystem::path& p) {
  std::ifstream in{p};
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos)
      last = line;
  return last;
}

} // namespace

// -- constructors ---------------------------------------------------------------

connection::connection(event_handler on_event)
  : on_event_(std::move(on_event)) {}

std::shared_ptr<connection> connection::start_child(const child_agent_options& opts,
                                                    event_handler on_event) {
  stdio_channel ch;
  ch.argv = {opts.binary, "agent", "--stdio"};
  ch.log_path = opts.log_path;
  ch.pid_path = opts.pid_path;
  ch.hello_timeout = opts.hello_timeout;
  return start_stdio(ch, std::move(on_event));
}

std::shared_ptr<connection> connection::start_stdio(const stdio_channel& ch,
                                                    event_handler on_event) {
  if (ch.argv.empty() || ::access(ch.argv[0].c_str(), X_OK) != 0)
    throw agent_error("the agent program " +
                      (ch.argv.empty() ? std::string("(none)") : ch.argv[0]) +
                      " is missing or not executable: " + ch.missing_fix);
  std::shared_ptr<connection> c{new connection(std::move(on_event))};
  c->log_path_ = ch.log_path;
  c->pid_path_ = ch.pid_path;
  c->what_ = ch.what;
  std::promise<void> spawned;
  auto started = spawned.get_future();
  c->reader_ = std::thread([raw = c.get(), &ch, &spawned] {
    try {
      raw->spawn_child(ch);
      spawned.set_value();
    } catch (...) {
      spawned.set_exception(std::current_exception());
      return;
    }
    raw->read_loop();
  });
  try {
    started.get();
  } catch (...) {
    c->reader_.join();
    throw;
  }
  try {
    c->hello(ch.hello_timeout);
  } catch (...) {
    c->close(milliseconds(5000));
    throw;
  }
  return c;
}

std::shared_ptr<connection> connection::start_tcp(const tcp_agent_options& opts,
                                                  event_handler on_event) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(opts.port);
  const auto where = opts.address + ":" + std::to_string(opts.port);
  if (::inet_pton(AF_INET, opts.address.c_str(), &addr.sin_addr) != 1)
    throw agent_error(opts.what + " at " + where + ": not an IPv4 address");
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw agent_error(std::string("cannot create a socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    ::close(fd);
    throw agent_error(opts.what + " at " + where + " does not accept connections (" +
                      std::strerror(e) + ")");
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::shared_ptr<connection> c{new connection(std::move(on_event))};
  c->fd_ = fd;
  c->tcp_ = true;
  c->token_ = opts.token;
  c->what_ = opts.what + " at " + where;
  c->reader_ = std::thread([raw = c.get()] { raw->read_loop(); });
  try {
    c->hello(opts.hello_timeout);
  } catch (...) {
    c->close(milliseconds(2000));
    throw;
  }
  return c;
}

std::shared_ptr<connection> connection::start_in_process(event_handler on_event) {
  std::shared_ptr<connection> c{new connection(std::move(on_event))};
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw agent_error(std::string("cannot create a socketpair for the agent: ") +
                      std::strerror(errno));
  c->fd_ = fds[0];
  c->in_process_ = true;
  c->agent_pid_ = ::getpid();
  agent_options quiet;
  quiet.log_to_stderr = false;
  c->local_agent_ = std::make_unique<host_agent>(quiet);
  c->agent_thread_ = std::thread([agent = c->local_agent_.get(), fd = fds[1]] {
    agent->serve(fd, fd);
    ::close(fd);
  });
  c->reader_ = std::thread([raw = c.get()] { raw->read_loop(); });
  try {
    c->hello(milliseconds(10000));
  } catch (...) {
    c->close(milliseconds(5000));
    throw;
  }
  return c;
}

connection::~connection() { close(); }

void connection::spawn_child(const stdio_channel& ch) {
  int fds[2], err[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw agent_error(std::string("cannot create a socketpair for the agent: ") +
                      std::strerror(errno));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw agent_error(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  // Built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> args = ch.argv;
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto log = ch.log_path.string();
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    for (int fd : {fds[0], fds[1], err[0], err[1]})
      ::close(fd);
    throw agent_error("cannot fork the agent: " + std::string(std::strerror(e)));
  }
  if (pid == 0) {
    // Its own process group: the terminal's Ctrl-C reaches troupe, which tears down in order.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent)
      ::_exit(127);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(fds[1], 0);
    ::dup2(fds[1], 1);
    int logfd = log.empty() ? -1 : ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (logfd >= 0)
      ::dup2(logfd, 2);
    ::close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
    ::execv(argv[0], argv.data());
    int e = errno;
    [[maybe_unused]] auto n = ::write(err[1], &e, sizeof(e));
    ::_exit(127);
  }
  ::close(fds[1]);
  ::close(err[1]);
  if (const int child_errno = local::exec_errno(err[0])) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(fds[0]);
    throw agent_error("cannot start " + ch.what + " (" + args[0] +
                      "): " + std::strerror(child_errno));
  }
  fd_ = fds[0];
  agent_pid_ = pid;
  if (!ch.pid_path.empty())
    std::ofstream{ch.pid_path} << pid << "\n";
}

void connection::hello(milliseconds timeout) {
  // A failed write is an agent that ended already: the reader says how (its exit status).
  auto msg = hello_message();
  if (!token_.empty())
    msg["token"] = token_;
  const bool sent = write_all(fd_, encode_frame(msg));
  std::unique_lock<std::mutex> lock{mutex_};
  bool answered = changed_.wait_for(lock, timeout, [&] { return hello_seen_ || !broken_.empty(); });
  if (!broken_.empty())
    throw agent_error(broken_);
  if (!sent)
    throw agent_error(describe() + " closed its end before the hello");
  if (!answered)
    throw agent_error(describe() + " did not answer the hello within " +
                      std::to_string(timeout.count() / 1000) + " s" +
                      (log_path_.empty() ? "" : "; see " + log_path_.string()));
}

// -- requests -------------------------------------------------------------------

json connection::call(const std::string& op, json args, milliseconds timeout) {
  auto p = std::make_shared<pending>();
  uint64_t id;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (!broken_.empty())
      throw agent_error(broken_);
    id = next_id_++;
    pending_[id] = p;
  }
  bool sent;
  {
    std::lock_guard<std::mutex> guard{write_mutex_};
    sent = !closed_ && write_all(fd_, encode_frame(request_message(id, op, std::move(args))));
  }
  std::unique_lock<std::mutex> lock{mutex_};
  if (!sent && broken_.empty())
    broken_ = describe() + " is gone (the stream to it is closed)";
  bool done = changed_.wait_for(lock, timeout, [&] { return p->done || !broken_.empty(); });
  pending_.erase(id);
  if (p->done) {
    if (!p->ok)
      throw agent_error(p->error);
    return p->result;
  }
  if (!broken_.empty())
    throw agent_error(broken_);
  (void) done;
  throw agent_error(describe() + " did not answer " + op + " within " +
                    std::to_string(timeout.count()) + " ms");
}

void connection::count_frame(const json& msg, const std::string& type, size_t bytes) {
  auto kind = type;
  if (type == "event")
    if (auto it = msg.find("event"); it != msg.end() && it->is_string())
      kind += ":" + it->get<std::string>();
  std::lock_guard<std::mutex> guard{mutex_};
  ++frames_in_;
  bytes_in_ += bytes;
  bytes_by_kind_[kind] += bytes;
}

json connection::traffic() const {
  std::lock_guard<std::mutex> guard{mutex_};
  json by_kind = json::object();
  for (const auto& [k, b] : bytes_by_kind_)
    by_kind[k] = b;
  return json{{"frames", frames_in_}, {"bytes", bytes_in_}, {"by_kind", std::move(by_kind)}};
}

void connection::read_loop() {
  frame_reader reader;
  std::string why;
  try {
    while (auto msg = read_frame(fd_, reader)) {
      const auto type = type_of(*msg);
      count_frame(*msg, type, reader.last_frame_bytes());
      if (type == "event") {
        if (on_event_)
          on_event_(*msg);
        continue;
      }
      std::lock_guard<std::mutex> guard{mutex_};
      if (type == "reply") {
        auto it = pending_.find(msg->value("id", uint64_t{0}));
        if (it != pending_.end()) {
          it->second->done = true;
          it->second->ok = msg->value("ok", false);
          it->second->result = msg->value("result", json::object());
          it->second->error = msg->value("error", std::string("no reason given"));
        }
      } else if (type == "hello") {
        auto bad = check_hello(*msg, describe());
        if (bad.empty())
          hello_seen_ = true;
        else
          broken_ = bad;
      } else if (type == "error") {
        broken_ = describe() +
                  " ended the connection: " + msg->value("reason", std::string("no reason given"));
      }
      changed_.notify_all();
    }
    why = describe() + " ended the stream";
  } catch (const protocol_error& e) {
    why = describe() + " broke the protocol: " + e.what();
  }
  fail_all(why);
}

void connection::fail_all(const std::string& why) {
  std::string full = why;
  if (!in_process_ && agent_pid_ > 0) {
    // Say how it ended when it has (an agent that exits at hello says why in its log).
    int status = 0;
    for (int i = 0; i < 20 && !try_reap(&status); ++i)
      std::this_thread::sleep_for(milliseconds(50)); // bounded: at most 1 s to see the exit
    if (try_reap(&status))
      full += " (" + describe_status(status) + ")";
    auto line = last_log_line(log_path_);
    if (!line.empty())
      full += "; its log " + log_path_.string() + " ends: " + line;
  }
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (broken_.empty())
      broken_ = full;
    full = broken_;
    changed_.notify_all();
  }
  // Not a message of the protocol: the handler learns that no event will come any more.
  if (on_event_)
    on_event_(json{{"type", "event"}, {"event", "agent_gone"}, {"reason", full}});
}

void connection::close(milliseconds wait) noexcept {
  {
    std::lock_guard<std::mutex> guard{write_mutex_};
    if (closed_)
      return;
    closed_ = true;
  }
  if (fd_ >= 0)
    ::shutdown(fd_, SHUT_WR); // EOF: the agent stops its nodes and relays, then ends
  if (in_process_) {
    if (agent_thread_.joinable())
      agent_thread_.join();
  } else if (tcp_) {
    // The agent stops its nodes, then ends the stream; one that does not within `wait` is cut
    // off (it stops them anyway when it sees the connection gone).
    std::unique_lock<std::mutex> lock{mutex_};
    changed_.wait_for(lock, wait, [&] { return !broken_.empty(); });
    lock.unlock();
    ::shutdown(fd_, SHUT_RDWR);
  } else if (agent_pid_ > 0) {
    auto deadline = steady::now() + wait;
    int status = 0;
    while (!try_reap(&status) && steady::now() < deadline)
      std::this_thread::sleep_for(milliseconds(20));
    if (!try_reap(&status)) {
      ::kill(agent_pid_, SIGKILL);
      for (int i = 0; i < 250 && !try_reap(&status); ++i)
        std::this_thread::sleep_for(milliseconds(20));
    }
  }
  if (reader_.joinable())
    reader_.join();
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  if (!pid_path_.empty())
    std::filesystem::remove(pid_path_, ec);
  local_agent_.reset();
}

bool connection::try_reap(int* status) {
  std::lock_guard<std::mutex> guard{reap_mutex_};
  if (!reaped_ && agent_pid_ > 0 && ::waitpid(agent_pid_, &exit_status_, WNOHANG) == agent_pid_)
    reaped_ = true;
  if (reaped_)
    *status = exit_status_;
  return reaped_;
}

// -- observation ----------------------------------------------------------------

std::string connection::describe() const {
  if (in_process_)
    return "the in-process agent";
  if (tcp_)
    return what_;
  return what_ + " (pid " + std::to_string(agent_pid_) + ")";
}

std::string connection::broken() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return broken_;
}

} // namespace troupe::backends::agent
