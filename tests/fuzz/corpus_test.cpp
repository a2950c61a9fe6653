// Every fuzz target over its corpus (tests/fuzz/corpus/<target>/, where scripts/fuzz.sh also
// puts any input that crashed a target) and its seeds (tests/fuzz/seeds.txt), in the normal
// test build: an input that once crashed a target stays a regression test under any
// compiler, and the seeds keep the harnesses themselves from rotting.

#include "tests/fuzz/fuzz_target.hpp"
#include "tests/support/paths.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fnmatch.h>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace fs = std::filesystem;

namespace troupe::fuzz {

namespace {

std::map<std::string, target_fn>& targets() {
  static std::map<std::string, target_fn> all;
  return all;
}

/// The seed files of `target` named in seeds.txt.
std::vector<fs::path> seeds_of(const std::string& target) {
  const fs::path root = test::source_dir();
  std::ifstream in(root / "tests/fuzz/seeds.txt");
  std::vector<fs::path> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string name, glob;
    if (!(words >> name) || name[0] == '#' || name != target)
      continue;
    while (words >> glob) {
      const fs::path pattern = root / glob;
      for (const auto& e : fs::directory_iterator(pattern.parent_path()))
        if (e.is_regular_file() &&
            ::fnmatch(pattern.filename().c_str(), e.path().filename().c_str(), 0) == 0)
          out.push_back(e.path());
    }
  }
  return out;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

bool register_target(const char* name, target_fn fn) {
  targets()[name] = fn;
  return true;
}

} // namespace troupe::fuzz

using namespace troupe::fuzz;

TEST(FuzzCorpus, EveryTargetHasACorpusAndRunsItWithoutAFinding) {
  const std::vector<std::string> expected = {
    "agent_frames", "http_json", "http_parser", "pipeline", "program", "replay_config", "scenario"};
  std::vector<std::string> names;
  for (const auto& [name, fn] : targets())
    names.push_back(name);
  ASSERT_EQ(names, expected) << "a target without its registration, or one more to list here";
  for (const auto& [name, fn] : targets()) {
    std::vector<fs::path> inputs = seeds_of(name);
    const fs::path corpus = fs::path(troupe::test::source_dir()) / "tests/fuzz/corpus" / name;
    if (fs::is_directory(corpus))
      for (const auto& e : fs::directory_iterator(corpus))
        if (e.is_regular_file())
          inputs.push_back(e.path());
    EXPECT_GE(inputs.size(), 3u) << name << ": give it seeds in " << corpus;
    for (const auto& file : inputs) {
      SCOPED_TRACE(file.string());
      // Named before it runs: a finding aborts the binary, and the log then ends with it.
      std::fprintf(stderr, "fuzz corpus: %s %s\n", name.c_str(), file.c_str());
      const std::string bytes = read_all(file);
      // A finding aborts the test binary; a target returns 0 for every other input.
      EXPECT_EQ(fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
    }
  }
}
