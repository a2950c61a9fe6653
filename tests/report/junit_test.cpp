// report.junit.xml: every run writes one for CI systems, and a real XML parser (Python's
// xml.etree, as CI tools use) reads the counts, names, failure messages and the reproduce
// command from it; `troupe report DIR` regenerates it; text from the run is escaped.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report/junit.hpp"
#include "tests/support/observability_helpers.hpp"
#include "tests/support/paths.hpp"

namespace troupe::test {
namespace {

using nlohmann::json;

// Reads a JUnit file with xml.etree and prints what a CI system takes from it, as JSON.
constexpr const char* parse_script = R"(import json, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
out = {"root": root.tag, "root_attrib": dict(root.attrib), "suites": []}
for s in suites:
    cases = []
    for c in s.findall("testcase"):
        f, e, so = c.find("failure"), c.find("error"), c.find("system-out")
        cases.append({"name": c.get("name"), "classname": c.get("classname"),
                      "failure": None if f is None else {"message": f.get("message"), "type": f.get("type"), "text": f.text},
                      "error": None if e is None else {"message": e.get("message"), "type": e.get("type")},
                      "system_out": None if so is None else so.text})
    so = s.find("system-out")
    props = {p.get("name"): p.get("value") for p in s.iter("property")}
    out["suites"].append({"attrib": dict(s.attrib), "cases": cases, "properties": props,
                          "system_out": None if so is None else so.text})
print(json.dumps(out))
)";

bool have_python() { return shell("command -v python3 >/dev/null 2>&1") == 0; }

/// The JUnit file in `dir` as xml.etree parsed it (null when it is not well-formed XML).
json parse_junit(const std::filesystem::path& file) {
  auto script = file.parent_path() / "parse_junit.py";
  std::ofstream(script) << parse_script;
  auto out = file.parent_path() / "parse_junit.json";
  if (shell("timeout 60 python3 " + script.string() + " " + file.string() + " > " + out.string() +
            " 2>&1") != 0) {
    ADD_FAILURE() << "not well-formed XML: " << read_text(out);
    return nullptr;
  }
  return json::parse(read_text(out));
}

/// Runs `troupe run ARGS --quiet --out DIR` and returns its exit code.
int run_troupe(const std::string& args, const std::filesystem::path& dir) {
  return shell("cd " + source_dir() + " && timeout 120 " + troupe_binary() + " run " + args +
               " --quiet --out " + dir.string() + " >" + (dir.string() + ".out") + " 2>&1");
}

TEST(junit, a_passing_run_has_one_testcase_per_expectation_and_no_failures) {
  if (!have_python())
    GTEST_SKIP() << "python3 is not installed (scripts/setup.sh installs it for the tests)";
  auto dir = temp_dir("junit-pass");
  ASSERT_EQ(run_troupe("scenarios/chain-sim.json --duration 4m", dir), 0)
    << read_text(dir.string() + ".out");
  auto x = parse_junit(dir / "report.junit.xml");
  ASSERT_TRUE(x.is_object());
  ASSERT_EQ(x["suites"].size(), 1u);
  const auto& s = x["suites"][0];
  EXPECT_EQ(s["attrib"]["name"], "chain-sim");
  EXPECT_EQ(s["attrib"]["tests"], "4");
  EXPECT_EQ(s["attrib"]["failures"], "0");
  EXPECT_EQ(s["attrib"]["errors"], "0");
  EXPECT_GE(std::stod(s["attrib"]["time"].get<std::string>()), 0.0);
  EXPECT_EQ(x["root_attrib"]["tests"], "4");
  const std::vector<std::string> names{"consensus_liveness", "convergence", "safety",
                                       "tx_inclusion"};
  ASSERT_EQ(s["cases"].size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(s["cases"][i]["name"], names[i]);
    EXPECT_EQ(s["cases"][i]["classname"], "chain-sim." + names[i]);
    EXPECT_TRUE(s["cases"][i]["failure"].is_null());
    EXPECT_TRUE(s["cases"][i]["error"].is_null());
  }
  const auto report = json::parse(read_text(dir / "report.json"));
  EXPECT_EQ(s["system_out"], "reproduce: " + report["reproduce"].get<std::string>());
  EXPECT_EQ(s["system_out"], "reproduce: troupe run scenarios/chain-sim.json --seed 42 "
                             "--duration 4m");
  EXPECT_EQ(s["properties"]["seed"], "42");
  EXPECT_EQ(s["properties"]["verdict"], "pass");
  EXPECT_EQ(s["properties"]["digest"], report["digest"]);
}

TEST(junit, a_failing_run_carries_the_verdicts_summary_and_the_reproduce_command) {
  if (!have_python())
    GTEST_SKIP() << "python3 is not installed (scripts/setup.sh installs it for the tests)";
  auto dir = temp_dir("junit-fail");
  ASSERT_EQ(run_troupe("scenarios/chain-split-brain.json", dir), 1)
    << read_text(dir.string() + ".out");
  auto x = parse_junit(dir / "report.junit.xml");
  ASSERT_TRUE(x.is_object());
  const auto& s = x["suites"][0];
  const auto report = json::parse(read_text(dir / "report.json"));
  EXPECT_EQ(s["attrib"]["name"], "chain-split-brain");
  EXPECT_EQ(s["attrib"]["tests"], "2");
  EXPECT_EQ(s["attrib"]["failures"], "2"); // the two sides never converge, and finalize apart
  EXPECT_EQ(s["attrib"]["errors"], "0");
  ASSERT_EQ(s["cases"].size(), 2u);
  const auto& convergence = s["cases"][0];
  EXPECT_EQ(convergence["name"], "convergence");
  EXPECT_EQ(convergence["classname"], "chain-split-brain.convergence");
  ASSERT_TRUE(convergence["failure"].is_object());
  ASSERT_EQ(report["expectations"][0]["name"], "convergence");
  EXPECT_EQ(convergence["failure"]["message"], report["expectations"][0]["summary"]);
  EXPECT_EQ(convergence["failure"]["type"], "convergence");
  const std::string repro = "reproduce: troupe run scenarios/chain-split-brain.json --seed 11";
  EXPECT_EQ(convergence["system_out"], repro);
  EXPECT_EQ(s["system_out"], repro);
  const auto& safety = s["cases"][1];
  EXPECT_EQ(safety["name"], "safety");
  ASSERT_TRUE(safety["failure"].is_object());
  EXPECT_EQ(safety["failure"]["message"], report["expectations"][1]["summary"]);
  // The evidence follows the summary in the failure's text.
  EXPECT_NE(safety["failure"]["text"].get<std::string>().find("\"conflicts\""), std::string::npos);
}

TEST(junit, a_run_that_could_not_deploy_is_an_error_and_troupe_report_regenerates_it) {
  if (!have_python())
    GTEST_SKIP() << "python3 is not installed (scripts/setup.sh installs it for the tests)";
  auto dir = temp_dir("junit-error");
  // The local backend cannot run a group without a program: the run errors at deploy.
  ASSERT_EQ(run_troupe("scenarios/chain-split-brain.json --backend local", dir), 2)
    << read_text(dir.string() + ".out");
  auto x = parse_junit(dir / "report.junit.xml");
  ASSERT_TRUE(x.is_object());
  const auto& s = x["suites"][0];
  EXPECT_EQ(s["attrib"]["tests"], "1");
  EXPECT_EQ(s["attrib"]["failures"], "0");
  EXPECT_EQ(s["attrib"]["errors"], "1");
  ASSERT_EQ(s["cases"].size(), 1u);
  EXPECT_EQ(s["cases"][0]["name"], "run");
  ASSERT_TRUE(s["cases"][0]["error"].is_object());
  EXPECT_NE(s["cases"][0]["error"]["message"].get<std::string>().find("has no node program"),
            std::string::npos)
    << s["cases"][0]["error"];
  EXPECT_EQ(s["cases"][0]["error"]["type"], "error");
  EXPECT_EQ(s["system_out"],
            "reproduce: troupe run scenarios/chain-split-brain.json --seed 11 --backend local");

  // Regenerated from report.json alone: the same file.
  const auto written = read_text(dir / "report.junit.xml");
  std::filesystem::remove(dir / "report.junit.xml");
  ASSERT_EQ(shell(troupe_binary() + " report " + dir.string() + " >/dev/null"), 0);
  EXPECT_EQ(read_text(dir / "report.junit.xml"), written);
}

TEST(junit, text_from_the_run_is_escaped_for_xml) {
  if (!have_python())
    GTEST_SKIP() << "python3 is not installed (scripts/setup.sh installs it for the tests)";
  const std::string nasty = "tip \"a\" & 'b' <c> \x01\x1b end\ttab\nline";
  json r{{"verdict", "fail"},
         {"scenario", "s<&>\"q\""},
         {"seed", 1},
         {"backend", "sim"},
         {"digest", nullptr},
         {"expectations",
          {{{"name", "n&\"1\""},
            {"kind", "convergence"},
            {"pass", false},
            {"summary", nasty},
            {"evidence", {{"why", "</failure><x>"}}}}}},
         {"timing", {{"wall_seconds", 0.25}}},
         {"reproduce", "troupe run 'a b.json' --seed 1 <x>"},
         {"error", nullptr}};
  auto dir = temp_dir("junit-escape");
  write_junit(dir, r);
  auto x = parse_junit(dir / "report.junit.xml");
  ASSERT_TRUE(x.is_object());
  const auto& s = x["suites"][0];
  EXPECT_EQ(s["attrib"]["name"], "s<&>\"q\"");
  EXPECT_EQ(s["attrib"]["time"], "0.250");
  ASSERT_EQ(s["cases"].size(), 1u);
  EXPECT_EQ(s["cases"][0]["name"], "n&\"1\"");
  // Tabs and line breaks survive in the attribute; control characters XML cannot carry are
  // written visibly.
  EXPECT_EQ(s["cases"][0]["failure"]["message"], "tip \"a\" & 'b' <c> \\x01\\x1b end\ttab\nline");
  EXPECT_NE(s["cases"][0]["failure"]["text"].get<std::string>().find("</failure><x>"),
            std::string::npos);
  EXPECT_EQ(s["system_out"], "reproduce: troupe run 'a b.json' --seed 1 <x>");
}

} // namespace
} // namespace troupe::test
