#pragma once
// Scenario <-> JSON. Reading checks everything (structure, units, ranges, kinds through the
// registry, references to groups and nodes) and reports every problem at once with its JSON
// path; writing gives the canonical form, and read(write(s)) == s.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/errors.hpp"
#include "actors/registry.hpp"
#include "actors/scenario/scenario.hpp"

namespace troupe {

/// Parses and validates; on any problem throws validation_failed with all of them.
scenario scenario_from_json(const nlohmann::json& j, const registry& reg = registry::global());

/// Reads a file: a missing file, unreadable file or JSON syntax error is one user_error
/// naming the file (and line/column for syntax errors).
scenario load_scenario(const std::filesystem::path& file, const registry& reg = registry::global());

/// Reads a scenario object through `r` (problems go to its errors). In describe mode
/// (params_reader::describe) this describes the scenario format: scenario_schema.hpp.
void read_scenario_object(params_reader& r, scenario& s, const registry& reg);

/// Parses without throwing: appends problems to `errors`.
scenario read_scenario(const nlohmann::json& j, const registry& reg,
                       std::vector<validation_error>& errors);

nlohmann::json to_json(const scenario& s);
nlohmann::json to_json(const link_profile& l);
/// "model", "datagram" or "stream", as the scenario's `link.transport` spells it.
const char* to_string(link_transport t);

/// Checks that `selector` names "all", a group or a node of `s`; used by kind validators.
void check_selector(params_reader& r, const char* key, const std::string& selector,
                    const scenario& s);
/// The same, reporting at `path`.
void check_selector(std::vector<validation_error>& errors, const std::string& path,
                    const std::string& selector, const scenario& s);

} // namespace troupe
