#pragma once
// A throwaway PostgreSQL cluster for one test process: initdb'd under the build directory,
// served on a free loopback port and a unix socket directory of its own, run as an
// unprivileged user, stopped by the PID in its postmaster.pid. Self-contained (it needs only
// Debian's `postgresql` package and tests/support/{paths,shell,sockets,wait}.hpp), so any
// area's tests can use it.
//
//   auto& pg = troupe::test::postgres_cluster::shared();     // started on first use
//   if (!pg.ok()) GTEST_SKIP() << pg.why();
//   std::string url = pg.create_database("jobs_a");         // a fresh, empty database
//   // url == "postgresql://troupe:troupe-secret@127.0.0.1:PORT/jobs_a"
//
// Why each choice:
// - Debian's binaries by path (/usr/lib/postgresql/<major>/bin): /usr/local/bin/pg_ctl may be
//   another build, and PATH order must not decide which server a test runs.
// - PostgreSQL refuses to run as root. When the test runs as root, the cluster runs as the
//   system user `troupe-pg` (created here once with useradd, idempotently; `nobody` if that
//   fails); its directory is chown'ed to that user.
// - One cluster per test process, `<build>/postgres/pg-<pid>-<n>`: CTest runs tests of one binary
//   in parallel processes, and a cluster of its own needs no coordination. A cluster whose
//   test process died without stopping it (kill -9, a crash) is stopped by its PID and removed
//   by the next process that starts one.
// - Password authentication over TCP (scram-sha-256, user `troupe`, password `troupe-secret`), so a
//   test can present wrong credentials; the unix socket trusts (for the harness's own psql).
// - `fsync` is off unless asked for (options::durable): tests kill troupe, never the
//   server, and a commit the server acknowledged is in its memory either way; benchmarks
//   ask for a durable cluster.

#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/sockets.hpp"
#include "tests/support/wait.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace troupe::test {

/// How a cluster runs (outside the class so it can be a default argument).
struct postgres_options {
  bool durable = false; ///< fsync and synchronous_commit on (benchmarks)
  int max_connections = 200;
};

class postgres_cluster {
public:
  using options = postgres_options;

  /// The cluster of this process, started on first use and stopped at exit.
  static postgres_cluster& shared(options o = {}) {
    static postgres_cluster c(o);
    return c;
  }

  explicit postgres_cluster(options o = {})
    : opts_(o) {
    start();
  }
  ~postgres_cluster() { stop(); }
  postgres_cluster(const postgres_cluster&) = delete;
  postgres_cluster& operator=(const postgres_cluster&) = delete;

  /// Whether the server runs; else why() says why not (for GTEST_SKIP).
  bool ok() const { return pid_ > 0; }
  const std::string& why() const { return why_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& dir() const { return dir_; }
  static constexpr const char* user = "troupe";
  static constexpr const char* password = "troupe-secret";

  /// The URL of database `db` over TCP with the harness's credentials.
  std::string url(const std::string& db = "postgres") const {
    return "postgresql://" + std::string(user) + ":" + password +
           "@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  /// Runs SQL as the superuser through the unix socket; the outcome of psql.
  shell_outcome psql(const std::string& sql, const std::string& db = "postgres") const {
    return shell(as_owner(bin("psql") + " -X -q -v ON_ERROR_STOP=1 -At -h " +
                          shell_quote((dir_ / "sock").string()) + " -p " + std::to_string(port_) +
                          " -U " + user + " -d " + shell_quote(db) + " -c " + shell_quote(sql)),
                 60);
  }

  /// Drops `db` if it exists and creates it empty; its URL ("" when that failed).
  std::string create_database(const std::string& db) const {
    if (!ok())
      return "";
    psql("DROP DATABASE IF EXISTS \"" + db + "\" WITH (FORCE)");
    if (psql("CREATE DATABASE \"" + db + "\"").code != 0)
      return "";
    return url(db);
  }

  /// Stops the server by its PID (SIGINT: fast shutdown; SIGKILL after 30 s). Idempotent.
  void stop() {
    if (pid_ > 0)
      stop_pid(pid_);
    pid_ = 0;
  }

private:
  static std::string bin_dir() {
    std::vector<std::filesystem::path> found;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec))
      if (std::filesystem::exists(e.path() / "bin" / "initdb"))
        found.push_back(e.path() / "bin");
    if (found.empty())
      return "";
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return std::stoi(a.parent_path().filename().string()) <
             std::stoi(b.parent_path().filename().string());
    });
    return found.back().string();
  }
  std::string bin(const std::string& name) const { return shell_quote(bin_dir_ + "/" + name); }

  /// `cmd` run as the cluster's owner (through runuser when we are root).
  std::string as_owner(const std::string& cmd) const {
    return owner_.empty() ? cmd : "runuser -u " + owner_ + " -- sh -c " + shell_quote(cmd);
  }

  /// Root: the unprivileged user that owns the cluster, created when missing.
  static std::string owner_for_root(std::string& why) {
    if (::geteuid() != 0)
      return "";
    if (!::getpwnam("troupe-pg"))
      shell("useradd --system --no-create-home --home-dir /nonexistent --shell "
            "/usr/sbin/nologin troupe-pg",
            60);
    if (::getpwnam("troupe-pg")) // another process may have created it meanwhile: fine
      return "troupe-pg";
    if (::getpwnam("nobody"))
      return "nobody";
    why = "PostgreSQL cannot run as root and neither user troupe-pg nor nobody exists";
    return "";
  }

  static pid_t pid_of(const std::filesystem::path& data) {
    std::ifstream in{data / "postmaster.pid"};
    long p = 0;
    return in >> p && p > 0 ? static_cast<pid_t>(p) : 0;
  }

  static void stop_pid(pid_t p) {
    if (::kill(p, SIGINT) != 0)
      return;
    if (!wait_until([p] { return ::kill(p, 0) != 0 && errno == ESRCH; }, std::chrono::seconds(30),
                    std::chrono::milliseconds(10))) {
      ::kill(p, SIGKILL);
      wait_until([p] { return ::kill(p, 0) != 0 && errno == ESRCH; }, std::chrono::seconds(10));
    }
  }

  /// Stops and removes clusters whose test process is gone.
  static void reap_orphans(const std::filesystem::path& root) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
      const auto name = e.path().filename().string();
      if (name.rfind("pg-", 0) != 0)
        continue;
      const long owner = std::atol(name.c_str() + 3); // up to the dash
      if (owner <= 0 || owner == ::getpid() || ::kill(static_cast<pid_t>(owner), 0) == 0)
        continue;
      if (const pid_t p = pid_of(e.path() / "data"); p > 0)
        stop_pid(p);
      std::filesystem::remove_all(e.path(), ec);
    }
  }

  void start() {
    bin_dir_ = bin_dir();
    if (bin_dir_.empty()) {
      why_ = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run "
             "scripts/setup.sh (Debian package postgresql)";
      return;
    }
    owner_ = owner_for_root(why_);
    if (::geteuid() == 0 && owner_.empty())
      return;
    const auto root = std::filesystem::path(build_dir()) / "postgres";
    std::filesystem::create_directories(root);
    reap_orphans(root);
    static int made = 0; // several clusters in one process get directories of their own
    dir_ = root / ("pg-" + std::to_string(::getpid()) + "-" + std::to_string(++made));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "sock");
    { std::ofstream(dir_ / "pwfile") << password << "\n"; }
    if (!owner_.empty()) {
      const passwd* pw = ::getpwnam(owner_.c_str());
      shell("chown -R " + std::to_string(pw->pw_uid) + ":" + std::to_string(pw->pw_gid) + " " +
              shell_quote(dir_.string()),
            30);
    }
    const std::string data = shell_quote((dir_ / "data").string());
    auto init = shell(as_owner(bin("initdb") + " -D " + data + " -U " + user +
                               " -E UTF8 --locale=C --no-sync --auth-local=trust "
                               "--auth-host=scram-sha-256 --pwfile=" +
                               shell_quote((dir_ / "pwfile").string())),
                      120);
    if (init.code != 0) {
      why_ = "initdb failed: " + init.out.substr(0, 400);
      return;
    }
    // A free port can be taken between the probe and the bind: try a few.
    for (int attempt = 0; attempt < 3 && pid_ == 0; ++attempt) {
      port_ = free_port();
      std::string server_opts = "-p " + std::to_string(port_) + " -k " +
                                shell_quote((dir_ / "sock").string()) +
                                " -c listen_addresses=127.0.0.1 -c max_connections=" +
                                std::to_string(opts_.max_connections);
      if (!opts_.durable)
        server_opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
      auto st = shell(as_owner(bin("pg_ctl") + " -D " + data + " -l " +
                               shell_quote((dir_ / "server.log").string()) + " -w -t 60 -o " +
                               shell_quote(server_opts) + " start"),
                      90);
      if (st.code == 0)
        pid_ = pid_of(dir_ / "data");
      else
        why_ = "pg_ctl start failed: " + st.out.substr(0, 300) + " " +
               file_text(dir_ / "server.log").substr(0, 300);
    }
    if (pid_ > 0)
      why_.clear();
  }

  options opts_;
  std::string bin_dir_;
  std::string owner_;
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = 0;
  std::string why_;
};

} // namespace troupe::test
