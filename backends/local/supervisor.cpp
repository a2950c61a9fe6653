#include "backends/local/supervisor.hpp"

#include "backends/local/exec_errno.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <stdexcept>

extern char** environ;

namespace troupe::backends::local {

namespace {

constexpr auto reap_period = std::chrono::milliseconds(50);
constexpr auto kill_wait = std::chrono::seconds(5);

std::string describe_status(int status) {
  if (WIFEXITED(status))
    return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string("signal ") + std::to_string(WTERMSIG(status)) + " (" +
           ::strsignal(WTERMSIG(status)) + ")";
  return "status " + std::to_string(status);
}

} // namespace

// -- child state ----------------------------------------------------------------

struct supervisor::child {
  process_options opts;
  process_state state = process_state::idle;
  pid_t pid = -1;
  int pipe_fd = -1; ///< read end of the child's stdout/stderr; -1 once drained
  int log_fd = -1;
  uint64_t log_bytes = 0;
  int status = 0;
};

// -- constructors ---------------------------------------------------------------

supervisor::supervisor() {
  if (::pipe2(wake_fds_, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
  thread_ = std::thread([this] { loop(); });
}

supervisor::~supervisor() {
  stop_all(std::chrono::milliseconds(0));
  {
    std::lock_guard<std::mutex> guard{mutex_};
    quit_ = true;
  }
  wake();
  thread_.join();
  for (auto& c : children_) {
    if (c->pipe_fd >= 0)
      ::close(c->pipe_fd);
    if (c->log_fd >= 0)
      ::close(c->log_fd);
  }
  ::close(wake_fds_[0]);
  ::close(wake_fds_[1]);
}

// -- processes ------------------------------------------------------------------

size_t supervisor::add(process_options opts) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto c = std::make_unique<child>();
  c->opts = std::move(opts);
  children_.push_back(std::move(c));
  return children_.size() - 1;
}

void supervisor::start(size_t slot) {
  auto done = std::make_shared<std::promise<void>>();
  auto result = done->get_future();
  {
    std::lock_guard<std::mutex> guard{mutex_};
    auto& c = *children_.at(slot);
    if (c.state == process_state::running || c.state == process_state::paused)
      throw std::runtime_error(c.opts.id + " is already running (pid " + std::to_string(c.pid) +
                               ")");
    tasks_.push_back([this, &c, done] {
      try {
        spawn_on_thread(c);
        done->set_value();
      } catch (...) {
        done->set_exception(std::current_exception());
      }
    });
  }
  wake();
  result.get();
}

void supervisor::signal_group(size_t slot, int sig) {
  auto& c = *children_.at(slot);
  // Only while not reaped: the pid (and so the group id) cannot be reused before the reap,
  // and reaping happens under the same lock.
  if (c.state == process_state::running || c.state == process_state::paused)
    ::kill(-c.pid, sig);
}

bool supervisor::stop(size_t slot, std::chrono::milliseconds grace) {
  std::unique_lock<std::mutex> lock{mutex_};
  signal_group(slot, SIGTERM);
  signal_group(slot, SIGCONT);
  if (wait_state_locked(lock, slot, clock::now() + grace))
    return true;
  signal_group(slot, SIGKILL);
  return wait_state_locked(lock, slot, clock::now() + kill_wait);
}

bool supervisor::kill(size_t slot) {
  std::unique_lock<std::mutex> lock{mutex_};
  signal_group(slot, SIGKILL);
  return wait_state_locked(lock, slot, clock::now() + kill_wait);
}

bool supervisor::pause(size_t slot) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& c = *children_.at(slot);
  if (c.state != process_state::running)
    return c.state == process_state::paused;
  signal_group(slot, SIGSTOP);
  c.state = process_state::paused;
  return true;
}

bool supervisor::resume(size_t slot) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& c = *children_.at(slot);
  if (c.state != process_state::paused)
    return c.state == process_state::running;
  signal_group(slot, SIGCONT);
  c.state = process_state::running;
  return true;
}

void supervisor::stop_all(std::chrono::milliseconds grace) noexcept {
  std::unique_lock<std::mutex> lock{mutex_};
  auto alive = [this] {
    for (auto& c : children_)
      if (c->state == process_state::running || c->state == process_state::paused)
        return true;
    return false;
  };
  for (size_t i = 0; i < children_.size(); ++i) {
    signal_group(i, SIGTERM);
    signal_group(i, SIGCONT);
  }
  changed_.wait_until(lock, clock::now() + grace, [&] { return !alive(); });
  for (size_t i = 0; i < children_.size(); ++i)
    signal_group(i, SIGKILL);
  changed_.wait_until(lock, clock::now() + kill_wait, [&] { return !alive(); });
}

// -- observation ----------------------------------------------------------------

process_state supervisor::state(size_t slot) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return children_.at(slot)->state;
}

pid_t supervisor::pid(size_t slot) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return children_.at(slot)->pid;
}

std::vector<pid_t> supervisor::live_pids() const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::vector<pid_t> out;
  for (auto& c : children_)
    if (c->state == process_state::running || c->state == process_state::paused)
      out.push_back(c->pid);
  return out;
}

std::vector<pid_t> supervisor::all_pids() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return spawned_;
}

std::string supervisor::exit_description(size_t slot) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& c = *children_.at(slot);
  return c.state == process_state::exited ? describe_status(c.status) : "still running";
}

bool supervisor::wait_exit(size_t slot, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock{mutex_};
  return wait_state_locked(lock, slot, clock::now() + timeout);
}

bool supervisor::wait_state_locked(std::unique_lock<std::mutex>& lock, size_t slot,
                                   clock::time_point deadline) const {
  auto& c = *children_.at(slot);
  return changed_.wait_until(lock, deadline, [&] {
    return c.state == process_state::exited || c.state == process_state::idle;
  });
}

void supervisor::wait_log_drained(size_t slot, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock{mutex_};
  auto& c = *children_.at(slot);
  changed_.wait_for(lock, timeout, [&] { return c.pipe_fd < 0; });
}

std::string supervisor::log_tail(size_t slot, size_t lines) const {
  std::filesystem::path path;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    path = children_.at(slot)->opts.log_path;
  }
  auto read_tail = [](const std::filesystem::path& p) {
    std::ifstream in{p, std::ios::binary};
    if (!in)
      return std::string{};
    in.seekg(0, std::ios::end);
    auto size = static_cast<int64_t>(in.tellg());
    auto from = std::max<int64_t>(0, size - 16384);
    in.seekg(from);
    std::string text(static_cast<size_t>(size - from), '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    return text;
  };
  auto text = read_tail(path);
  auto count = [&] { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); };
  if (count() < lines)
    text = read_tail(path.string() + ".1") + text;
  // Keep the last `lines` non-empty lines.
  std::vector<std::string> out;
  size_t end = text.size();
  while (end > 0 && out.size() < lines) {
    auto start = text.rfind('\n', end - 1);
    auto begin = start == std::string::npos ? 0 : start + 1;
    auto line = text.substr(begin, end - begin);
    if (!line.empty() && line.find_first_not_of(" \r\t") != std::string::npos)
      out.push_back(line);
    if (start == std::string::npos)
      break;
    end = start;
  }
  std::string joined;
  for (auto it = out.rbegin(); it != out.rend(); ++it)
    joined += (joined.empty() ? "" : "\n") + *it;
  return joined;
}

namespace {

/// The last `n` bytes of a file ("" when it cannot be read).
std::string file_tail(const std::filesystem::path& p, size_t n) {
  std::ifstream in{p, std::ios::binary};
  if (!in || n == 0)
    return {};
  in.seekg(0, std::ios::end);
  const auto size = static_cast<int64_t>(in.tellg());
  const auto from = std::max<int64_t>(0, size - static_cast<int64_t>(n));
  in.seekg(from);
  std::string text(static_cast<size_t>(size - from), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  return text;
}

/// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by '?'.
std::string utf8_or_question_marks(std::string text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    if (!ok) {
      text[i++] = '?';
      continue;
    }
    i += len;
  }
  return text;
}

} // namespace

std::string supervisor::log_tail_bytes(size_t slot, size_t bytes) const {
  std::filesystem::path path;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    path = children_.at(slot)->opts.log_path;
  }
  auto text = file_tail(path, bytes);
  if (text.size() < bytes)
    text = file_tail(path.string() + ".1", bytes - text.size()) + text;
  // From the first whole line, unless the tail is one line.
  if (text.size() >= bytes)
    if (auto nl = text.find('\n'); nl != std::string::npos && nl + 1 < text.size())
      text.erase(0, nl + 1);
  return utf8_or_question_marks(std::move(text));
}

const process_options& supervisor::options(size_t slot) const {
  std::lock_guard<std::mutex> guard{mutex_};
  return children_.at(slot)->opts;
}

size_t supervisor::size() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return children_.size();
}

// -- the supervisor thread ------------------------------------------------------

void supervisor::wake() {
  char b = 1;
  [[maybe_unused]] auto n = ::write(wake_fds_[1], &b, 1);
}

void supervisor::loop() {
  std::vector<pollfd> fds;
  std::vector<child*> owners;
  for (;;) {
    fds.clear();
    owners.clear();
    fds.push_back({wake_fds_[0], POLLIN, 0});
    owners.push_back(nullptr);
    {
      std::lock_guard<std::mutex> guard{mutex_};
      for (auto& c : children_)
        if (c->pipe_fd >= 0) {
          fds.push_back({c->pipe_fd, POLLIN, 0});
          owners.push_back(c.get());
        }
    }
    ::poll(fds.data(), fds.size(), static_cast<int>(reap_period.count()));
    if (fds[0].revents & POLLIN) {
      char buf[64];
      while (::read(wake_fds_[0], buf, sizeof(buf)) > 0) {
      }
    }
    for (size_t i = 1; i < fds.size(); ++i)
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
        pump(*owners[i]);
    std::deque<std::function<void()>> tasks;
    bool quit;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      tasks.swap(tasks_);
      reap_locked();
      quit = quit_;
    }
    for (auto& t : tasks)
      t();
    if (quit)
      return;
  }
}

void supervisor::reap_locked() {
  bool any = false;
  for (auto& c : children_) {
    if (c->state != process_state::running && c->state != process_state::paused)
      continue;
    int status = 0;
    if (::waitpid(c->pid, &status, WNOHANG) != c->pid)
      continue;
    c->status = status;
    c->state = process_state::exited;
    std::error_code ec;
    std::filesystem::remove(c->opts.pid_path, ec);
    any = true;
  }
  if (any)
    changed_.notify_all();
}

void supervisor::pump(child& c) {
  char buf[65536];
  // Bounded: one node that floods its output cannot starve the others.
  for (int round = 0; round < 16; ++round) {
    auto n = ::read(c.pipe_fd, buf, sizeof(buf));
    if (n > 0) {
      write_log(c, buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    // EOF (every writer closed: the process and its children are gone) or a read error.
    std::lock_guard<std::mutex> guard{mutex_};
    ::close(c.pipe_fd);
    c.pipe_fd = -1;
    changed_.notify_all();
    return;
  }
}

void supervisor::write_log(child& c, const char* data, size_t n) {
  auto rotate = [&] {
    ::close(c.log_fd);
    auto base = c.opts.log_path.string();
    std::error_code ec;
    if (c.opts.log_files_max == 0) {
      std::filesystem::remove(base, ec);
    } else {
      for (uint32_t k = c.opts.log_files_max; k > 1; --k)
        std::filesystem::rename(base + "." + std::to_string(k - 1), base + "." + std::to_string(k),
                                ec);
      std::filesystem::rename(base, base + ".1", ec);
    }
    c.log_fd = ::open(base.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    c.log_bytes = 0;
  };
  // Every file stays within log_bytes_max: a chunk that does not fit is split.
  while (n > 0 && c.log_fd >= 0) {
    if (c.log_bytes >= c.opts.log_bytes_max) {
      rotate();
      continue;
    }
    auto room = static_cast<size_t>(c.opts.log_bytes_max - c.log_bytes);
    auto w = ::write(c.log_fd, data, std::min(n, room));
    if (w <= 0)
      return;
    data += w;
    n -= static_cast<size_t>(w);
    c.log_bytes += static_cast<uint64_t>(w);
  }
}

void supervisor::spawn_on_thread(child& c) {
  auto& o = c.opts;
  std::error_code ec;
  std::filesystem::create_directories(o.log_path.parent_path(), ec);
  std::filesystem::create_directories(o.cwd, ec);
  if (c.log_fd < 0) {
    c.log_fd = ::open(o.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    struct stat st {};
    c.log_bytes = (c.log_fd >= 0 && ::fstat(c.log_fd, &st) == 0) ? st.st_size : 0;
  }
  // A previous incarnation's pipe may still hold output: drain it first.
  if (c.pipe_fd >= 0) {
    pump(c);
    if (c.pipe_fd >= 0) {
      std::lock_guard<std::mutex> guard{mutex_};
      ::close(c.pipe_fd);
      c.pipe_fd = -1;
    }
  }

  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> argv_s;
  argv_s.push_back(o.binary);
  argv_s.insert(argv_s.end(), o.args.begin(), o.args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s)
    argv.push_back(s.data());
  argv.push_back(nullptr);
  std::map<std::string, std::string> env_map;
  for (char** e = environ; e && *e; ++e) {
    std::string kv{*e};
    auto eq = kv.find('=');
    if (eq != std::string::npos)
      env_map[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& kv : o.env)
    env_map[kv.first] = kv.second;
  std::vector<std::string> env_s;
  for (auto& kv : env_map)
    env_s.push_back(kv.first + "=" + kv.second);
  std::vector<char*> envp;
  for (auto& s : env_s)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  auto cwd = o.cwd.string();

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    for (int fd : {out[0], out[1], err[0], err[1]})
      ::close(fd);
    throw std::runtime_error("cannot fork " + o.binary + ": " + std::strerror(e));
  }
  if (pid == 0) {
    // Own process group: signals to the group reach the node and its children, and the
    // terminal's Ctrl-C reaches troupe only, which then tears down in order.
    ::setpgid(0, 0);
    // If troupe dies without a teardown (SIGKILL), the kernel kills the node.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s)
      ::sigaction(s, &dfl, nullptr);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
    if (::chdir(cwd.c_str()) != 0) {
      int e = errno;
      [[maybe_unused]] auto n = ::write(err[1], &e, sizeof(e));
      ::_exit(127);
    }
    ::execve(argv[0], argv.data(), envp.data());
    int e = errno;
    [[maybe_unused]] auto n = ::write(err[1], &e, sizeof(e));
    ::_exit(127);
  }
  ::setpgid(pid, pid); // both sides set it: whichever runs first wins the race
  ::close(out[1]);
  ::close(err[1]);
  if (const int child_errno = exec_errno(err[0])) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(out[0]);
    throw std::runtime_error("cannot start " + o.binary + ": " + std::strerror(child_errno));
  }
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  {
    std::ofstream pidf{o.pid_path};
    pidf << pid << "\n";
  }
  auto header = "=== troupe: started " + o.binary + " (pid " + std::to_string(pid) + ") ===\n";
  write_log(c, header.data(), header.size());
  std::lock_guard<std::mutex> guard{mutex_};
  c.pid = pid;
  c.pipe_fd = out[0];
  c.state = process_state::running;
  spawned_.push_back(pid);
  changed_.notify_all();
}

} // namespace troupe::backends::local
