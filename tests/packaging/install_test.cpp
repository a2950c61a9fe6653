// Installing Troupe as a user does: `cmake --install` into a prefix, an outside C++ project
// built against that prefix with find_package(Troupe), and the Debian package CPack builds,
// unpacked into a scratch root and run from there. Everything uses the build as it is (the
// project is never rebuilt); every command is bounded.

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"

namespace fs = std::filesystem;

namespace {

std::string q(const fs::path& p) { return troupe::test::shell_quote(p.string()); }

/// Runs `cmd` in a shell, bounded to `seconds`, from `cwd`.
troupe::test::shell_outcome sh(const std::string& cmd, int seconds,
                               const fs::path& cwd = troupe::test::source_dir()) {
  return troupe::test::shell(cmd, seconds, cwd);
}

std::string read_text(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path build() { return troupe::test::build_dir(); }

/// An empty scratch directory under the build directory.
fs::path scratch(const std::string& name) {
  auto d = build() / "test-runs" / "packaging" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

/// A value of this build's CMakeCache.txt ("" when absent).
std::string cache_value(const std::string& name) {
  std::ifstream in{build() / "CMakeCache.txt"};
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    auto colon = line.find(':');
    if (eq != std::string::npos && colon < eq && line.compare(0, colon, name) == 0 &&
        colon == name.size())
      return line.substr(eq + 1);
  }
  return {};
}

/// The cmake that configured this build (cpack is beside it).
fs::path cmake_command() {
  auto c = cache_value("CMAKE_COMMAND");
  return c.empty() ? fs::path{"cmake"} : fs::path{c};
}

/// Where libraries and the CMake package go under the prefix ("lib" unless configured else).
fs::path libdir() {
  auto d = cache_value("CMAKE_INSTALL_LIBDIR");
  return d.empty() ? fs::path{"lib"} : fs::path{d};
}

fs::path cpack_command() {
  auto cmake = cmake_command();
  return cmake.has_parent_path() ? cmake.parent_path() / "cpack" : fs::path{"cpack"};
}

/// "0.1.0" from `troupe --version` ("troupe 0.1.0").
std::string troupe_version() {
  auto v = sh(q(troupe::test::troupe_binary()) + " --version", 30);
  auto pos = v.out.find("troupe ");
  if (pos == std::string::npos)
    return {};
  auto rest = v.out.substr(pos + 7);
  return rest.substr(0, rest.find_first_of(" \n"));
}

/// The runtime package list (scripts/runtime-packages.txt, one name a line, # comments).
std::set<std::string> runtime_packages() {
  std::set<std::string> out;
  std::ifstream in{fs::path(troupe::test::source_dir()) / "scripts" / "runtime-packages.txt"};
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    std::istringstream words{line};
    for (std::string w; words >> w;)
      out.insert(w);
  }
  return out;
}

/// Installs the build into `prefix` (nothing is rebuilt: the install tree is the build).
void install_into(const fs::path& prefix) {
  auto r = sh(q(cmake_command()) + " --install " + q(build()) + " --prefix " + q(prefix), 120);
  ASSERT_EQ(r.code, 0) << r.out;
}

bool verdict_pass(const fs::path& run_dir) {
  try {
    return nlohmann::json::parse(read_text(run_dir / "report.json")).at("verdict") == "pass";
  } catch (const std::exception&) {
    return false;
  }
}

} // namespace

TEST(packaging, install_prefix_holds_binary_programs_scenarios_headers_libraries_and_package) {
  auto prefix = scratch("layout") / "prefix";
  ASSERT_NO_FATAL_FAILURE(install_into(prefix));
  for (const char* file :
       {"bin/troupe", "share/troupe/programs/litecoin-regtest.json",
        "share/troupe/programs/etcd.json", "share/troupe/scenarios/chain-sim.json",
        "share/troupe/scenarios/litecoin-local.json", "share/troupe/scenarios/data/replay-test",
        "include/troupe/actors/runner.hpp", "include/troupe/actors/scenario/builder.hpp",
        "include/troupe/report/report.hpp", "include/troupe/apps/catalog/catalog.hpp",
        "include/troupe/backends/local/program.hpp"})
    EXPECT_TRUE(fs::exists(prefix / file)) << file;
  for (const char* file :
       {"libtroupe_core.a", "libtroupe_catalog.a", "cmake/Troupe/TroupeConfig.cmake",
        "cmake/Troupe/TroupeConfigVersion.cmake", "cmake/Troupe/TroupeTargets.cmake",
        "cmake/Troupe/TroupeImportedDeps.cmake"})
    EXPECT_TRUE(fs::exists(prefix / libdir() / file)) << file;
  // Only headers under include/: no sources, no program files.
  for (auto& e : fs::recursive_directory_iterator(prefix / "include")) {
    if (e.is_regular_file()) {
      EXPECT_EQ(e.path().extension(), ".hpp") << e.path();
    }
  }

  // The installed binary finds its programs in share/troupe/programs from any directory.
  auto r = sh("env -u TROUPE_PROGRAMS_DIR " + q(prefix / "bin" / "troupe") + " validate " +
                q(prefix / "share/troupe/scenarios/litecoin-local.json"),
              60, "/");
  EXPECT_EQ(r.code, 0) << r.out;
}

TEST(packaging, install_outside_project_finds_the_package_and_runs_the_builder_example) {
  auto dir = scratch("outside");
  auto prefix = dir / "prefix";
  ASSERT_NO_FATAL_FAILURE(install_into(prefix));
  // The README's example program, in a project that knows nothing of the source tree.
  fs::create_directories(dir / "src");
  fs::copy_file(prefix / "share/troupe/scenarios/builder_example.cpp",
                dir / "src" / "builder_example.cpp");
  std::ofstream(dir / "src" / "CMakeLists.txt")
    << "cmake_minimum_required(VERSION 3.18)\n"
       "project(outside LANGUAGES CXX)\n"
       "set(CMAKE_CXX_STANDARD 17)\n"
       "find_package(Troupe 0.1 REQUIRED)\n"
       "add_executable(app builder_example.cpp)\n"
       "target_link_libraries(app PRIVATE troupe::engine)\n";
  // ccache when present: the scratch path is the same on every run, so a rerun hits it.
  std::string launcher =
    sh("command -v ccache", 10).code == 0 ? " -DCMAKE_CXX_COMPILER_LAUNCHER=ccache" : "";
  auto conf = sh(q(cmake_command()) + " -S " + q(dir / "src") + " -B " + q(dir / "build") +
                   " -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=" + q(prefix) + launcher,
                 180, dir);
  ASSERT_EQ(conf.code, 0) << conf.out;
  // It found the installed package, not some other Troupe.
  EXPECT_NE(read_text(dir / "build" / "CMakeCache.txt")
              .find("Troupe_DIR:PATH=" + (prefix / libdir() / "cmake/Troupe").string()),
            std::string::npos);
  auto make = sh(q(cmake_command()) + " --build " + q(dir / "build") + " -j2", 480, dir);
  ASSERT_EQ(make.code, 0) << make.out;
  auto run = sh(q(dir / "build" / "app") + " " + q(dir / "run"), 120, dir);
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("verdict: pass"), std::string::npos) << run.out;
  EXPECT_TRUE(verdict_pass(dir / "run"));
}

TEST(packaging, build_tree_troupe_finds_its_programs_from_any_directory) {
  auto r = sh("env -u TROUPE_PROGRAMS_DIR " + q(troupe::test::troupe_binary()) + " validate " +
                q(fs::path(troupe::test::source_dir()) / "scenarios/litecoin-local.json"),
              60, "/");
  EXPECT_EQ(r.code, 0) << r.out;
}

TEST(packaging, build_tree_missing_programs_are_one_sentence_naming_TROUPE_PROGRAMS_DIR) {
  // The binary alone, with no programs beside it (a hard link: /proc/self/exe names the link).
  auto dir = scratch("no-programs");
  fs::create_directories(dir / "bin");
  auto exe = dir / "bin" / "troupe";
  std::error_code ec;
  fs::create_hard_link(troupe::test::troupe_binary(), exe, ec);
  if (ec)
    fs::copy_file(troupe::test::troupe_binary(), exe);
  const auto scenario = q(fs::path(troupe::test::source_dir()) / "scenarios/litecoin-local.json");

  auto r = sh("env -u TROUPE_PROGRAMS_DIR " + q(exe) + " validate " + scenario, 60, dir);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("set TROUPE_PROGRAMS_DIR to the directory holding them"), std::string::npos)
    << r.out;

  auto wrong = sh(
    "TROUPE_PROGRAMS_DIR=" + q(dir / "nowhere") + " " + q(exe) + " validate " + scenario, 60, dir);
  EXPECT_EQ(wrong.code, 2) << wrong.out;
  EXPECT_NE(
    wrong.out.find("TROUPE_PROGRAMS_DIR=" + (dir / "nowhere").string() + " is not a directory"),
    std::string::npos)
    << wrong.out;

  auto fixed =
    sh("TROUPE_PROGRAMS_DIR=" + q(fs::path(troupe::test::source_dir()) / "backends/programs") +
         " " + q(exe) + " validate " + scenario,
       60, dir);
  EXPECT_EQ(fixed.code, 0) << fixed.out;
}

TEST(packaging, deb_depends_on_the_runtime_list_and_runs_from_a_scratch_root) {
  if (sh("command -v dpkg-deb && command -v dpkg-query", 10).code != 0)
    GTEST_SKIP() << "dpkg-deb is not installed (not a Debian system)";
  auto dir = scratch("deb");
  auto pack = sh(q(cpack_command()) + " -G DEB -B " + q(dir / "out") + " --config " +
                   q(build() / "CPackConfig.cmake"),
                 300, build());
  ASSERT_EQ(pack.code, 0) << pack.out;
  auto arch = sh("dpkg --print-architecture", 10).out;
  arch = arch.substr(0, arch.find('\n'));
  auto deb = dir / "out" / ("troupe_" + troupe_version() + "_" + arch + ".deb");
  ASSERT_TRUE(fs::exists(deb)) << deb << "\n" << pack.out;

  // Depends is the runtime list, and every package in it exists in this Debian.
  auto wanted = runtime_packages();
  ASSERT_FALSE(wanted.empty());
  auto info = sh("dpkg-deb -I " + q(deb), 30);
  ASSERT_EQ(info.code, 0) << info.out;
  auto dline = info.out.find(" Depends: ");
  ASSERT_NE(dline, std::string::npos) << info.out;
  std::string depends = info.out.substr(dline + 10, info.out.find('\n', dline) - dline - 10);
  std::set<std::string> listed;
  std::istringstream items{depends};
  for (std::string item; std::getline(items, item, ',');) {
    std::istringstream w{item};
    std::string name;
    w >> name;
    listed.insert(name);
  }
  EXPECT_EQ(listed, wanted) << depends;
  for (auto& p : wanted)
    EXPECT_EQ(sh("dpkg-query -W " + p, 10).code, 0) << p << " is not a package of this system";

  // Every shared library troupe links directly comes from a package in Depends.
  auto needed = sh("readelf -d " + q(troupe::test::troupe_binary()) +
                     " | sed -n 's/.*(NEEDED).*\\[\\(.*\\)\\]/\\1/p'",
                   30);
  ASSERT_EQ(needed.code, 0) << needed.out;
  std::istringstream libs{needed.out};
  for (std::string lib; std::getline(libs, lib);) {
    if (lib.empty())
      continue;
    // ldd's path for it (ld-linux is named by its path); with merged /usr, dpkg may know
    // the file under /usr only.
    auto owner =
      sh("p=$(ldd " + q(troupe::test::troupe_binary()) + " | awk -v l=" + lib +
           " '$1 == l {print $3} substr($1, length($1) - length(l)) == (\"/\" l) {print $1}' "
           "| head -1); "
           "dpkg -S \"$p\" 2>/dev/null || dpkg -S \"/usr$p\"",
         30);
    auto pkg = owner.out.substr(0, owner.out.find(':'));
    EXPECT_TRUE(owner.code == 0 && wanted.count(pkg))
      << lib << " comes from '" << pkg << "', which Depends does not list";
  }

  // Unpacked into a scratch root, its troupe runs the installed example and finds its
  // programs in <root>/usr/share/troupe/programs.
  auto root = dir / "root";
  auto x = sh("dpkg-deb -x " + q(deb) + " " + q(root), 60);
  ASSERT_EQ(x.code, 0) << x.out;
  auto exe = root / "usr" / "bin" / "troupe";
  ASSERT_TRUE(fs::exists(exe));
  auto run =
    sh("env -u TROUPE_PROGRAMS_DIR " + q(exe) + " run " +
         q(root / "usr/share/troupe/scenarios/chain-sim.json") + " --quiet --out " + q(dir / "run"),
       120, "/");
  EXPECT_EQ(run.code, 0) << run.out;
  EXPECT_TRUE(verdict_pass(dir / "run")) << run.out;
  auto validate = sh("env -u TROUPE_PROGRAMS_DIR " + q(exe) + " validate " +
                       q(root / "usr/share/troupe/scenarios/litecoin-local.json"),
                     60, "/");
  EXPECT_EQ(validate.code, 0) << validate.out;
  EXPECT_TRUE(fs::exists(root / "usr/share/troupe/programs/litecoin-regtest.json"));
  EXPECT_TRUE(fs::exists(root / "usr" / libdir() / "cmake/Troupe/TroupeConfig.cmake"));
}
