// `troupe schema scenario|program` as an editor or a CI job uses it: the printed JSON Schema
// (draft 2020-12) accepts every example and rejects every bad scenario it can express,
// checked by a real JSON Schema validator (Debian's python3-jsonschema).

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "apps/catalog/catalog.hpp"
#include "tests/scenarios/bad_scenarios.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

troupe::test::shell_outcome shell(const std::string& cmd) { return troupe::test::shell(cmd, 120); }

/// A Python whose jsonschema knows draft 2020-12: Debian's first (python3-jsonschema), else
/// the one on PATH. Empty when there is none.
std::string python_with_jsonschema() {
  for (const char* py : {"/usr/bin/python3", "python3"}) {
    auto o = shell(std::string(py) +
                   " -c 'import jsonschema; jsonschema.Draft202012Validator' 2>/dev/null");
    if (o.code == 0)
      return py;
  }
  return "";
}

// Checks the schema itself, then prints one JSON line per instance file with its errors.
constexpr const char* check_py = R"(import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for path in sys.argv[2:]:
    errors = [("/".join(map(str, e.absolute_path)) + ": " + e.message)[:300]
              for e in validator.iter_errors(json.load(open(path)))]
    print(json.dumps({"file": path, "errors": errors}))
)";

class schema : public ::testing::Test {
protected:
  void SetUp() override {
    troupe::register_catalog();
    python_ = python_with_jsonschema();
    if (python_.empty())
      GTEST_SKIP() << "no python3 with jsonschema (draft 2020-12): apt-get install "
                      "python3-jsonschema";
    dir_ = troupe::test::fresh_dir(
      "schema-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::ofstream(dir_ / "check.py") << check_py;
  }

  /// `troupe schema WHAT`, written to a file as a user would (`> scenario.schema.json`).
  fs::path write_schema(const std::string& what) {
    auto file = dir_ / (what + ".schema.json");
    auto o = shell(troupe::test::troupe_binary() + " schema " + what + " > " + file.string());
    EXPECT_EQ(o.code, 0) << o.out;
    return file;
  }

  /// Errors per instance file, by the real validator.
  std::map<std::string, std::vector<std::string>> validate(const fs::path& schema_file,
                                                           const std::vector<fs::path>& files) {
    std::string cmd = python_ + " " + (dir_ / "check.py").string() + " " + schema_file.string();
    for (const auto& f : files)
      cmd += " " + f.string();
    auto o = shell(cmd + " 2>&1");
    EXPECT_EQ(o.code, 0) << o.out;
    std::map<std::string, std::vector<std::string>> out;
    std::istringstream lines{o.out};
    for (std::string line; std::getline(lines, line);) {
      auto j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("file")) {
        ADD_FAILURE() << "validator said: " << line;
        continue;
      }
      out[j["file"]] = j["errors"].get<std::vector<std::string>>();
    }
    EXPECT_EQ(out.size(), files.size()) << o.out;
    return out;
  }

  fs::path write(const std::string& name, const json& j) {
    auto file = dir_ / name;
    std::ofstream(file) << j.dump(2);
    return file;
  }

  std::string python_;
  fs::path dir_;
};

std::vector<fs::path> json_files(const std::string& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(troupe::test::source_dir() + "/" + dir))
    if (e.path().extension() == ".json")
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Bad scenarios whose problem a JSON Schema cannot express; `troupe validate` reports them.
const std::map<std::string, std::string> not_schema_checkable = {
  {"duplicate group", "unique names: a schema compares whole list items, not one key of them"},
  {"duplicate expectation name", "unique names (a name defaults to the kind)"},
  {"reference to a missing group", "names a group of this topology"},
  {"step names a missing node", "names a node of this topology"},
  {"a long selector is cut", "names a group of this topology"},
  {"set_link to a missing group", "names a group of this topology"},
  {"partition side naming a missing node", "names a node of this topology"},
  {"step after the end", "compares a step's time with the scenario's duration"},
  {"scrape a program without metrics", "whether a program has /metrics is in its program file"},
  {"scrape series malformed", "series selectors follow their own grammar (actors/scenario/scrape)"},
  {"more nodes than one run may have", "a sum over every group's count"},
  {"groups summing past the limit", "a sum over every group's count"},
  {"a mesh with too many links", "computed from the layout and the counts"},
  {"log pattern invalid", "RE2 syntax: known by compiling the pattern"},
};

} // namespace

TEST_F(schema, scenario_schema_accepts_every_example) {
  const auto file = write_schema("scenario");
  const auto examples = json_files("scenarios");
  ASSERT_GE(examples.size(), 5u);
  for (const auto& [path, errors] : validate(file, examples))
    EXPECT_TRUE(errors.empty()) << path << ": " << ::testing::PrintToString(errors);
}

TEST_F(schema, scenario_schema_rejects_every_bad_scenario_it_can_express) {
  const auto file = write_schema("scenario");
  const auto cases = troupe::test::bad_scenario_cases();
  std::vector<fs::path> files;
  std::set<std::string> names;
  for (size_t i = 0; i < cases.size(); ++i) {
    json j = troupe::test::bad_scenario_base();
    cases[i].mutate(j);
    files.push_back(write("bad-" + std::to_string(i) + ".json", j));
    names.insert(cases[i].name);
  }
  for (const auto& [name, why] : not_schema_checkable)
    EXPECT_TRUE(names.count(name)) << "not in the bad-scenario table: " << name;
  const auto errors = validate(file, files);
  size_t rejected = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    auto it = errors.find(files[i].string());
    ASSERT_NE(it, errors.end()) << cases[i].name;
    if (not_schema_checkable.count(cases[i].name)) {
      // The schema accepts it (validation does not): if this fails, the schema learnt to
      // say it, and the case leaves the list.
      EXPECT_TRUE(it->second.empty())
        << cases[i].name << " is rejected by the schema now: " << it->second.front();
    } else {
      EXPECT_FALSE(it->second.empty()) << cases[i].name << " passes the schema";
      rejected += !it->second.empty();
    }
  }
  EXPECT_EQ(rejected + not_schema_checkable.size(), cases.size());
  // The good scenario they all start from passes, and so does naming the schema in it.
  json good = troupe::test::bad_scenario_base();
  good["$schema"] = file.string();
  auto good_errors = validate(file, {write("good.json", good)});
  EXPECT_TRUE(good_errors.begin()->second.empty())
    << ::testing::PrintToString(good_errors.begin()->second);
}

TEST_F(schema, a_scenario_naming_its_schema_validates) {
  json j = troupe::test::bad_scenario_base();
  j["$schema"] = "./scenario.schema.json";
  auto o = shell(troupe::test::troupe_binary() + " validate " +
                 write("with-schema.json", j).string() + " 2>&1");
  EXPECT_EQ(o.code, 0) << o.out;
  j["$schema"] = 7;
  o = shell(troupe::test::troupe_binary() + " validate " +
            write("with-bad-schema.json", j).string() + " 2>&1");
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("[\"$schema\"]: must be a string, got 7"), std::string::npos) << o.out;
}

TEST_F(schema, program_schema_accepts_every_builtin_program_and_rejects_broken_ones) {
  const auto file = write_schema("program");
  const auto programs = json_files("backends/programs");
  ASSERT_GE(programs.size(), 2u);
  for (const auto& [path, errors] : validate(file, programs))
    EXPECT_TRUE(errors.empty()) << path << ": " << ::testing::PrintToString(errors);

  std::ifstream in{troupe::test::source_dir() + "/backends/programs/etcd.json"};
  const json etcd = json::parse(in);
  std::vector<std::pair<std::string, std::function<void(json&)>>> broken = {
    {"no adapter", [](json& p) { p.erase("adapter"); }},
    {"unknown key", [](json& p) { p["binray"] = "etcd"; }},
    {"port out of range", [](json& p) { p["ports"]["client_port"] = 70000; }},
    {"http probe without a port", [](json& p) { p["ready"].erase("port"); }},
    {"param without a default", [](json& p) { p["params"]["heartbeat_ms"].erase("default"); }},
    {"malformed stop_grace", [](json& p) { p["stop_grace"] = "soon"; }},
  };
  std::vector<fs::path> files;
  for (size_t i = 0; i < broken.size(); ++i) {
    json p = etcd;
    broken[i].second(p);
    files.push_back(write("broken-program-" + std::to_string(i) + ".json", p));
  }
  auto errors = validate(file, files);
  for (size_t i = 0; i < broken.size(); ++i)
    EXPECT_FALSE(errors[files[i].string()].empty()) << broken[i].first << " passes the schema";
}

TEST_F(schema, only_scenario_and_program_have_a_schema) {
  auto o = shell(troupe::test::troupe_binary() + " schema report 2>&1");
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("scenario"), std::string::npos) << o.out;
}
