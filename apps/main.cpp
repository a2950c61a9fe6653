// troupe — the command line. Thin: it parses, then calls the library. User errors are one
// sentence and a non-zero exit code, never a stack trace.

#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "actors/errors.hpp"
#include "apps/catalog/catalog.hpp"
#include "apps/commands.hpp"

int main(int argc, char** argv) {
  troupe::register_catalog();
  CLI::App app{"troupe: test networks of nodes in a deterministic simulation or live, and "
               "orchestrate job campaigns"};
  app.set_version_flag("--version", std::string("troupe ") + TROUPE_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;
  troupe::apps::add_scenario_commands(app, exit_code);
  troupe::apps::add_jobs_command(app, exit_code);
  troupe::apps::add_report_command(app, exit_code);
  troupe::apps::add_schema_command(app, exit_code);
  troupe::apps::add_compare_command(app, exit_code);
  troupe::apps::add_agent_command(app, exit_code);
  troupe::apps::add_swarm_command(app, exit_code);
  troupe::apps::add_shrink_command(app, exit_code);
  troupe::apps::add_fleet_command(app, exit_code);
  troupe::apps::add_k8s_command(app, exit_code);
  troupe::apps::add_sync_command(app, exit_code);
  troupe::apps::add_discovery_command(app, exit_code);
  troupe::apps::add_image_command(app, exit_code);
  troupe::apps::add_compose_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; bad flags are bad input (2).
    int code = app.exit(e);
    return code == 0 ? 0 : troupe::exit_bad_input;
  } catch (const troupe::validation_failed& e) {
    // One problem a line, each with the prefix (what() joins them with bare newlines).
    for (const auto& err : e.errors())
      std::fprintf(stderr, "troupe: %s\n", err.to_string().c_str());
    return e.code();
  } catch (const troupe::user_error& e) {
    std::fprintf(stderr, "troupe: %s\n", e.what());
    return e.code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe: internal error: %s\n", e.what());
    return 3;
  }
  return exit_code;
}
