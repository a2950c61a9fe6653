// troupe k8s render SCENARIO [-o DIR]: the Kubernetes objects a k8s-backend run applies
// (backends/k8s/manifests.hpp), checked structurally; one v1 List on stdout, or one file per
// object in DIR in apply order (`kubectl apply --server-side -f DIR`).
// troupe k8s gc [--dry-run]: deletes the namespaces of runs whose expiry has passed
// (backends/k8s/namespace_gc.hpp).

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "actors/errors.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/commands.hpp"
#include "backends/k8s/agent_token.hpp"
#include "backends/k8s/k8s_options.hpp"
#include "backends/k8s/manifest_check.hpp"
#include "backends/k8s/manifests.hpp"
#include "backends/k8s/namespace_gc.hpp"

namespace troupe::apps {

namespace fs = std::filesystem;
namespace k8s = backends::k8s;

namespace {

struct render_args {
  std::string file, out, run_id, token;
  int64_t now = -1;
};

int k8s_render(const render_args& a) {
  auto s = load_scenario(a.file);
  k8s::run_identity id;
  id.run_id = k8s::run_id_for(a.run_id.empty() ? s.name : a.run_id);
  id.token = a.token.empty() ? k8s::new_agent_token() : a.token;
  id.now_unix = a.now >= 0 ? a.now : static_cast<int64_t>(std::time(nullptr));
  auto m = k8s::render_manifests(s, k8s::options_of(s), id, fs::path(a.file).parent_path());
  auto problems = k8s::check_manifests(m.objects);
  for (const auto& p : problems)
    std::fprintf(stderr, "troupe: %s\n", p.c_str());
  if (!problems.empty())
    return exit_bad_input;
  if (a.out.empty()) {
    std::cout << k8s::as_list(m).dump(2) << "\n";
    return exit_pass;
  }
  fs::create_directories(a.out);
  const auto names = k8s::file_names(m);
  for (size_t i = 0; i < names.size(); ++i)
    std::ofstream{fs::path(a.out) / names[i]} << m.objects[i].dump(2) << "\n";
  std::printf("%zu objects in %s (namespace %s): kubectl apply --server-side -f %s\n", names.size(),
              a.out.c_str(), m.ns.c_str(), a.out.c_str());
  return exit_pass;
}

void add_render(CLI::App& k8s_app, int& exit_code) {
  auto render = k8s_app.add_subcommand(
    "render", "Print the Kubernetes objects of a k8s-backend run (namespace, token Secret, per "
              "group a ConfigMap, a headless Service and a StatefulSet), checked");
  static render_args a;
  render->add_option("SCENARIO", a.file, "scenario JSON file")->required();
  render->add_option("-o,--out", a.out, "write one file per object here, in apply order");
  render->add_option("--run-id", a.run_id, "the run id (default: the scenario's name)");
  render->add_option("--token", a.token, "the agents' token (default: a new random one)");
  render->add_option("--now", a.now,
                     "seconds since the epoch the expiry counts from (default: now)");
  render->callback([&exit_code] { exit_code = k8s_render(a); });
}

void add_gc(CLI::App& k8s_app, int& exit_code) {
  auto gc = k8s_app.add_subcommand(
    "gc", "Delete the namespaces of troupe runs (label troupe.run) whose troupe.dev/expires-at "
          "has passed");
  static bool dry_run = false;
  static std::string kubectl = "kubectl";
  gc->add_flag("--dry-run", dry_run, "only list what would be deleted");
  gc->add_option("--kubectl", kubectl, "the kubectl client (default: kubectl on PATH)");
  gc->callback([&exit_code] { exit_code = k8s::collect_namespaces(kubectl, dry_run, std::cout); });
}

} // namespace

void add_k8s_command(CLI::App& root, int& exit_code) {
  auto k8s_app = root.add_subcommand("k8s", "The k8s backend's objects and their clean-up");
  k8s_app->require_subcommand(1);
  add_render(*k8s_app, exit_code);
  add_gc(*k8s_app, exit_code);
}

} // namespace troupe::apps
