#pragma once
// Where a test finds the sources, the build and the troupe binary, and its one helper for a
// fresh scratch directory. Found at run time, not compiled in: absolute paths in compile
// definitions would make every clone of the sources miss ccache.
//
//   source_dir()   troupe::test::source_dir(), else the working directory (CTest runs every test
//                  from the source root)
//   build_dir()    troupe::test::build_dir(), else the parent of the test binary's folder
//                  (build/tests/test_x -> build)
//   troupe_binary()  build_dir()/troupe

#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace troupe::test {

inline std::string source_dir() {
  if (const char* d = std::getenv("TROUPE_SOURCE_DIR"); d && *d)
    return d;
  return std::filesystem::current_path().string();
}

inline std::string build_dir() {
  if (const char* d = std::getenv("TROUPE_BUILD_DIR"); d && *d)
    return d;
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path().string();
}

inline std::string troupe_binary() { return build_dir() + "/troupe"; }

/// An empty directory for one test, `<tmp>/troupe-<pid>/<name>` (removed first if left over
/// from an earlier run; kept afterwards for inspection).
inline std::filesystem::path fresh_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("troupe-" + std::to_string(::getpid())) / name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

} // namespace troupe::test
