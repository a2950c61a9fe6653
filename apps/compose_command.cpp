// troupe compose gc [--run ID]: removes what compose runs left on the Docker daemon — every
// service, container, network, volume and secret labelled troupe.run (or troupe.run=ID): a
// kept stack (Compose or Swarm), or one whose janitor could not run (the machine rebooted).

#include <cstdio>

#include "actors/errors.hpp"
#include "apps/commands.hpp"
#include "backends/compose/docker.hpp"
#include "backends/compose/stack.hpp"

namespace troupe::apps {

void add_compose_command(CLI::App& root, int& exit_code) {
  auto compose =
    root.add_subcommand("compose", "The compose backend's stacks on the Docker daemon");
  compose->require_subcommand(1);
  auto gc = compose->add_subcommand(
    "gc", "Remove everything a compose or swarm run left (label troupe.run)");
  static std::string run_id;
  gc->add_option("--run", run_id, "only this run's (its id: report.json's compose.run_id)");
  gc->callback([&exit_code] {
    backends::compose::require_daemon();
    auto s = backends::compose::sweep(run_id);
    std::printf("removed %zu containers, %zu networks, %zu volumes, %zu services, %zu secrets "
                "labelled troupe.run%s\n",
                s.containers, s.networks, s.volumes, s.services, s.secrets,
                run_id.empty() ? "" : ("=" + run_id).c_str());
    exit_code = exit_pass;
  });
}

} // namespace troupe::apps
