#pragma once
// Real `troupe jobs serve` processes sharing one PostgreSQL database, for the tests of
// several orchestrators: each on a port of its own that it keeps across restarts (so a
// worker's --url list stays true), each start logged to a file of its own, killed by PID.
//
//   troupe::test::orchestrator o(dir, "a", url, pipeline_file);
//   ASSERT_TRUE(o.start()) << o.log_text();
//   o.kill9(); ASSERT_TRUE(o.start());

#include "tests/support/sockets.hpp"
#include "tests/support/troupe_child.hpp"
#include "tests/support/wait.hpp"

#include <httplib.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <sys/wait.h>

namespace troupe::test {

class orchestrator {
public:
  orchestrator(std::filesystem::path dir, std::string name, std::string store, std::string pipeline)
    : dir_(std::move(dir))
    , name_(std::move(name))
    , store_(std::move(store))
    , pipeline_(std::move(pipeline))
    , port_(free_port()) {}
  ~orchestrator() { kill9(); }
  orchestrator(const orchestrator&) = delete;
  orchestrator& operator=(const orchestrator&) = delete;

  /// Starts it and waits (bounded) until it answers GET /v1/summary.
  bool start() {
    log_ = dir_ / (name_ + "-" + std::to_string(starts_++) + ".log");
    pid_ = start_troupe_child({"jobs", "serve", "--store", store_, "--pipeline", pipeline_,
                               "--host", "127.0.0.1", "--port", std::to_string(port_)},
                              log_);
    return wait_until(
             [&] {
               if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                 pid_ = -1;
                 return true; // it exited: answered below
               }
               httplib::Client c("127.0.0.1", port_);
               c.set_connection_timeout(1);
               auto r = c.Get("/v1/summary");
               return r && r->status == 200;
             },
             std::chrono::seconds(30), std::chrono::milliseconds(50)) &&
           pid_ > 0;
  }
  /// SIGKILL, then reaped.
  void kill9() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& log() const { return log_; }
  std::string log_text() const { return log_.string() + ":\n" + file_text(log_); }

private:
  std::filesystem::path dir_;
  std::string name_, store_, pipeline_;
  int port_;
  int starts_ = 0;
  pid_t pid_ = -1;
  std::filesystem::path log_;
};

} // namespace troupe::test
