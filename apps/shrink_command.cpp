// troupe shrink RUN_DIR [--out FILE]: a failing run's fault schedule, shrunk to the smallest
// that still fails the same expectation (backends/sim/shrink.hpp), written as a scenario.

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "actors/errors.hpp"
#include "apps/commands.hpp"
#include "backends/sim/shrink.hpp"

namespace troupe::apps {

namespace fs = std::filesystem;

backends::shrink_result shrink_to_file(const fs::path& run_dir, const fs::path& out,
                                       size_t runs_max, bool same_summary) {
  backends::shrink_options o;
  o.run_dir = run_dir;
  // Candidates run in a scratch directory of this process, removed afterwards.
  o.work_dir = fs::temp_directory_path() / ("troupe-shrink-" + std::to_string(getpid()));
  o.runs_max = runs_max;
  o.same_summary = same_summary;
  o.on_progress = [](const std::string& line) {
    std::printf("  %s\n", line.c_str());
    std::fflush(stdout);
  };
  struct cleanup {
    fs::path dir;
    ~cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } scratch{o.work_dir};
  auto r = backends::shrink_run(o);
  {
    std::ofstream f{out};
    f << r.shrunk.dump(2) << "\n";
    if (!f)
      throw user_error("shrink: cannot write " + out.string() + "; choose another --out");
  }
  std::printf("shrunk %s: %s in %zu runs%s; still fails %s: %s\n  %s\n", run_dir.c_str(),
              backends::describe(r).c_str(), r.runs,
              r.runs_exhausted ? " (stopped at --runs-max)" : "", r.expectation.c_str(),
              r.summary.c_str(), ("troupe run " + out.string()).c_str());
  return r;
}

void add_shrink_command(CLI::App& root, int& exit_code) {
  auto shrink = root.add_subcommand(
    "shrink", "Shrink a failing simulated run's fault schedule (chaos included) to the smallest "
              "that still fails the same expectation; writes it as a scenario (shrunk.json)");
  static std::string run_dir, out;
  static size_t runs_max = 200;
  static bool loose = false;
  shrink->add_option("RUN_DIR", run_dir, "a failing run's directory")->required();
  shrink->add_option("--out", out, "the shrunk scenario (default RUN_DIR/shrunk.json)");
  shrink->add_option("--runs-max", runs_max, "candidate runs at most (200)")
    ->check(CLI::Range(size_t{1}, size_t{100000}));
  shrink->add_flag("--loose", loose,
                   "any failure of the expectation counts, not only one whose summary reads "
                   "the same (numbers aside)");
  shrink->callback([&exit_code] {
    shrink_to_file(run_dir, out.empty() ? fs::path(run_dir) / "shrunk.json" : fs::path(out),
                   runs_max, !loose);
    exit_code = exit_pass;
  });
}

} // namespace troupe::apps
