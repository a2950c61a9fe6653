#pragma once
// Each subcommand group registers itself on the root CLI11 app. Callbacks store their exit
// code in `exit_code`; user errors are thrown as troupe::user_error and printed by main.

#include <filesystem>

#include <CLI/CLI.hpp>

#include "backends/sim/shrink.hpp"

namespace troupe::apps {

void add_scenario_commands(CLI::App& root, int& exit_code); // validate, topology, run, report
void add_jobs_command(CLI::App& root, int& exit_code);      // jobs serve|status|retry
void add_report_command(CLI::App& root, int& exit_code);    // report DIR (report.html)
void add_schema_command(CLI::App& root, int& exit_code);    // schema scenario|program
void add_compare_command(CLI::App& root, int& exit_code);   // compare RUN_DIR_A RUN_DIR_B
void add_agent_command(CLI::App& root, int& exit_code);     // agent --stdio
void add_swarm_command(CLI::App& root, int& exit_code);     // swarm FILE | swarm merge DIR...
void add_shrink_command(CLI::App& root, int& exit_code);    // shrink RUN_DIR
void add_fleet_command(CLI::App& root, int& exit_code);     // fleet check HOSTS.json
void add_k8s_command(CLI::App& root, int& exit_code);       // k8s render SCENARIO | k8s gc
void add_sync_command(CLI::App& root, int& exit_code);      // sync serve|signal|barrier|...
void add_discovery_command(CLI::App& root, int& exit_code); // discovery serve|announce|keygen
void add_image_command(CLI::App& root, int& exit_code);     // image build PROGRAM
void add_compose_command(CLI::App& root, int& exit_code);   // compose gc

/// Shrinks the failing run in `run_dir` into the scenario file `out`, printing each phase and
/// before -> after (`troupe shrink`, and `troupe swarm --shrink` for each failing seed).
backends::shrink_result shrink_to_file(const std::filesystem::path& run_dir,
                                       const std::filesystem::path& out, size_t runs_max,
                                       bool same_summary = true);

} // namespace troupe::apps
