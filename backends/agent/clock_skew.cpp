#include "backends/agent/clock_skew.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "backends/agent/time_source.hpp"

namespace troupe::backends::agent {

namespace fs = std::filesystem;

namespace {

/// Where Debian's `faketime` package puts the library (multiarch): the thread-safe build, as
/// node programs are threaded.
constexpr const char* debian_library = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// "<sign><whole>.<nine digits>" of a count of 1e-9 units.
std::string decimal(int64_t nanos, bool plus) {
  const char* sign = nanos < 0 ? "-" : (plus ? "+" : "");
  auto mag = static_cast<unsigned long long>(nanos < 0 ? -nanos : nanos);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%s%llu.%09llu", sign, mag / 1000000000ull, mag % 1000000000ull);
  return buf;
}

} // namespace

std::optional<fs::path> faketime_library() {
  const char* env = std::getenv("TROUPE_FAKETIME_LIB");
  fs::path lib = env && *env ? fs::path{env} : fs::path{debian_library};
  std::error_code ec;
  if (!fs::is_regular_file(lib, ec))
    return std::nullopt;
  return lib;
}

std::optional<std::string> clock_skew_refusal(const fs::path& binary) {
  if (!faketime_library()) {
    const char* env = std::getenv("TROUPE_FAKETIME_LIB");
    return std::string("clock skew needs libfaketime, and ") +
           (env && *env ? std::string(env) + " (TROUPE_FAKETIME_LIB)"
                        : std::string(debian_library)) +
           " is not there: install the Debian package faketime";
  }
  if (auto why = libc_time_refusal(binary))
    return "clock skew works through libfaketime, which only changes the time a program reads "
           "through libc, and " +
           *why;
  return std::nullopt;
}

std::string faketime_spec(int64_t offset_ns, double drift_ppm) {
  // The rate in 1e-9 units: 1 + ppm * 1e-6.
  auto rate = static_cast<int64_t>(std::llround(1e9 + drift_ppm * 1e3));
  if (rate < 1)
    rate = 1; // a clock that stops or runs backwards is not a drift
  return decimal(offset_ns, true) + " x" + decimal(rate, false);
}

node_clock::node_clock(fs::path control_file, fs::path library, writer write)
  : file_(std::move(control_file))
  , library_(std::move(library))
  , write_(std::move(write)) {
  set(0, 0);
}

void node_clock::write_here(const fs::path& file, const std::string& line) {
  auto tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    out << line << '\n';
    if (!out.flush())
      throw std::runtime_error("cannot write the clock control file " + tmp.string() + ": " +
                               std::strerror(errno));
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec)
    throw std::runtime_error("cannot replace the clock control file " + file.string() + ": " +
                             ec.message());
}

std::vector<std::pair<std::string, std::string>> node_clock::environment() const {
  std::string preload = library_.string();
  if (const char* mine = std::getenv("LD_PRELOAD"); mine && *mine)
    preload += std::string(":") + mine;
  return {{"LD_PRELOAD", preload},
          {"FAKETIME_TIMESTAMP_FILE", fs::absolute(file_).string()},
          // Read the file at every clock read: a rewrite is in effect at once, so the
          // acknowledgement of a skew is honest (a cache would delay it by its duration).
          // Not FAKETIME_XRESET: with it, libfaketime 0.9.10 ignores a rewritten offset.
          {"FAKETIME_NO_CACHE", "1"},
          // The monotonic clock stays true: faked, it disagrees with the deadlines of timed
          // waits libfaketime does not intercept (pthread_cond_clockwait, which libstdc++'s
          // steady_clock waits use), and litecoind then sleeps far too long and all but stops
          // talking to its peers (seen in litecoin-faults-local). The cost: an absolute
          // clock_nanosleep on CLOCK_MONOTONIC answers EINVAL under it (Python's time.sleep).
          {"FAKETIME_DONT_FAKE_MONOTONIC", "1"}};
}

int64_t node_clock::offset_ns() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return offset_ns_;
}

double node_clock::drift_ppm() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return drift_ppm_;
}

void node_clock::set(int64_t offset_ns, double drift_ppm) {
  std::lock_guard<std::mutex> guard{mutex_};
  write_(file_, faketime_spec(offset_ns, drift_ppm));
  offset_ns_ = offset_ns;
  drift_ppm_ = drift_ppm;
}

} // namespace troupe::backends::agent
