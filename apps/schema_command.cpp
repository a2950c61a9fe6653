// troupe schema scenario|program: the JSON Schema (draft 2020-12) of scenario files or node
// program files, for editors ("$schema" in a scenario) and other tools. Generated from the
// validators' own reading code, so it says what `troupe validate` accepts.

#include <iostream>

#include "actors/errors.hpp"
#include "actors/scenario/scenario_schema.hpp"
#include "apps/commands.hpp"
#include "backends/local/program_schema.hpp"

namespace troupe::apps {

void add_schema_command(CLI::App& root, int& exit_code) {
  auto cmd = root.add_subcommand("schema", "Print the JSON Schema of scenario files or node "
                                           "program files (for editors: \"$schema\")");
  static std::string what;
  cmd->add_option("WHAT", what, "scenario or program")
    ->required()
    ->check(CLI::IsMember({"scenario", "program"}));
  cmd->callback([&exit_code] {
    const auto schema = what == "scenario" ? scenario_schema() : backends::local::program_schema();
    std::cout << schema.dump(2) << "\n";
    exit_code = exit_pass;
  });
}

} // namespace troupe::apps
