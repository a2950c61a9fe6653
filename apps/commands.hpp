#pragma once
// Each subcommand group registers itself on the root CLI11 app. Callbacks store their exit
// code in `exit_code`; user errors are thrown as troupe::user_error and printed by main.

#include <CLI/CLI.hpp>

namespace troupe::apps {

void add_scenario_commands(CLI::App& root, int& exit_code); // validate, topology, run, report
void add_jobs_command(CLI::App& root, int& exit_code);      // jobs serve|status|retry
void add_report_command(CLI::App& root, int& exit_code);    // report DIR (report.html)
void add_schema_command(CLI::App& root, int& exit_code);    // schema scenario|program
void add_swarm_command(CLI::App& root, int& exit_code);     // swarm FILE | swarm merge DIR...

} // namespace troupe::apps
