// troupe compare RUN_DIR_A RUN_DIR_B [--out DIR]: two runs of one scenario side by side
// (typically sim and live), as compare.html and compare.json.

#include <cstdio>

#include "actors/errors.hpp"
#include "apps/commands.hpp"
#include "report/compare.hpp"
#include "report/report_file.hpp"

namespace troupe::apps {

namespace {

std::filesystem::path default_out(const std::filesystem::path& a, const std::filesystem::path& b) {
  auto name = [](const std::filesystem::path& p) {
    auto n = p.lexically_normal().filename();
    return (n.empty() ? p.lexically_normal().parent_path().filename() : n).string();
  };
  auto parent = b.lexically_normal().parent_path();
  if (parent.filename().empty() && !parent.empty())
    parent = parent.parent_path();
  return parent / ("compare-" + name(a) + "-vs-" + name(b));
}

compared_run load(const std::string& dir, const char* letter) {
  compared_run c;
  c.report = read_report_file(dir);
  c.run_dir = dir;
  const auto& backend = c.report.contains("backend") && c.report["backend"].is_string()
                          ? c.report["backend"].get<std::string>()
                          : std::string("?");
  c.label = std::string(letter) + ": " + backend;
  return c;
}

} // namespace

void add_compare_command(CLI::App& root, int& exit_code) {
  auto cmd = root.add_subcommand(
    "compare", "Compare two runs of one scenario (e.g. sim and live): compare.html and .json");
  static std::string dir_a, dir_b, out;
  cmd->add_option("RUN_DIR_A", dir_a, "first run directory (holds report.json)")->required();
  cmd->add_option("RUN_DIR_B", dir_b, "second run directory (holds report.json)")->required();
  cmd->add_option("--out", out,
                  "where compare.html and compare.json go (default: compare-A-vs-B beside B)");
  cmd->callback([&exit_code] {
    const auto a = load(dir_a, "A");
    const auto b = load(dir_b, "B");
    const std::filesystem::path out_dir =
      out.empty() ? default_out(dir_a, dir_b) : std::filesystem::path{out};
    const auto comparison = compare_reports(a, b);
    try {
      write_comparison(out_dir, comparison);
    } catch (const std::exception& e) {
      throw user_error("cannot write the comparison into " + out_dir.string() + ": " + e.what());
    }
    const auto& d = comparison["differences"];
    std::printf("%s\n%s\n", (out_dir / "compare.html").string().c_str(),
                (out_dir / "compare.json").string().c_str());
    if (!comparison["same_scenario"].get<bool>())
      std::printf("note: the two reports name different scenarios\n");
    if (d.empty())
      std::printf("the runs agree on every figure both have\n");
    for (size_t i = 0; i < d.size() && i < 3; ++i)
      std::printf("differs: %s\n", d[i]["sentence"].get<std::string>().c_str());
    exit_code = exit_pass;
  });
}

} // namespace troupe::apps
