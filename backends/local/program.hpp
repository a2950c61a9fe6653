#pragma once
// Node programs: a JSON definition of a real node kind (command template, ports,
// environment, readiness probe, adapter, how peers are joined, how blocks are produced).
// Built-ins live in backends/programs/<name>.json; users name their own file by path. The
// format is documented in docs/live.md.
//
// Templates: `{name}` is replaced by the node's value for `name` (id, index, group, role,
// group_index, data_dir, run_dir, host, every port, every `vars` entry, `param.<key>` for
// the node's program params, `peers` = the joined peer list). An argument containing
// `{peer.<name>}` is repeated once per peer with that peer's values. Anything else in braces
// (JSON bodies) is left alone.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/params.hpp"
#include "actors/scenario/scenario.hpp"

namespace troupe::backends::local {

using template_vars = std::map<std::string, std::string>;

/// Replaces every `{name}` placeholder; throws troupe::user_error naming `where` when a
/// placeholder has no value.
std::string render(const std::string& text, const template_vars& vars, const std::string& where);

/// Renders every string inside a JSON value (objects, arrays); other values stay.
nlohmann::json render_json(const nlohmann::json& value, const template_vars& vars,
                           const std::string& where);

struct readiness_probe {
  std::string kind = "adapter"; ///< adapter (status call succeeds) | http | tcp
  std::string port;             ///< http/tcp: which port name
  std::string path = "/";       ///< http: GET this path, expect 2xx
  std::string expect;           ///< http: body must contain this (empty: any)
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds interval{250};
};

/// Where a program exposes Prometheus metrics (its `metrics` key): an HTTP GET of `path` on
/// the node's port named `port`; `series` are the ones scraped when a group's `scrape` key
/// names none.
struct metrics_endpoint {
  std::string port;
  std::string path = "/metrics";
  std::vector<std::string> series;
};

/// The container image a program's nodes run in (its `image` key), for the compose backend:
/// `name` (e.g. "troupe/litecoin-regtest:latest", what `troupe image build` tags by default)
/// and the program's executable inside it (empty: the image's `troupe.command` label, which
/// `troupe image build` sets to the binary's path here).
struct program_image {
  std::string name;
  std::string command;
};

/// A node program parameter: its default (also its type) and optional bounds.
struct program_param {
  nlohmann::json fallback;
  std::optional<double> min, max;
  bool is_duration = false;
};

struct program {
  std::string name;
  std::string summary;
  std::filesystem::path source; ///< the JSON file it came from
  std::string binary;           ///< as written (a name on PATH or a path)
  std::string package;          ///< Debian package providing `binary` (for the error)
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> vars;
  std::vector<std::pair<std::string, int64_t>> ports; ///< name, base (0 = allocate freely)
  std::map<std::string, program_param> params;
  std::string join_scope = "topology"; ///< topology (layout peers) | all (every node)
  std::string join_peer;               ///< template for one entry of `{peers}`
  std::string join_separator = ",";
  /// The port peers dial (one of `ports`); empty: not named. With it (and scope topology),
  /// the local backend puts a link relay between each node and each peer it dials: the
  /// peer's value of this port, as `{peer.<port>}` and in `join.peer`, is the relay's.
  std::string join_port;
  readiness_probe ready;
  std::chrono::milliseconds stop_grace{10000};
  nlohmann::json adapter;                  ///< {"kind": ..., settings}; templates rendered per node
  nlohmann::json blocks;                   ///< block production (null: the program makes its own)
  nlohmann::json wallet;                   ///< wallet setup and funding (null: none)
  std::string finality_depth = "0";        ///< template: blocks deep before final
  std::optional<metrics_endpoint> metrics; ///< none: the program exposes no /metrics
  std::optional<program_image> image;      ///< none: the image troupe image build names
};

using program_ptr = std::shared_ptr<const program>;

// -- finding and loading ------------------------------------------------------

/// Where built-in program files live: $TROUPE_PROGRAMS_DIR, else next to the binary
/// (<exe>/programs, <exe>/../share/troupe/programs once installed, <exe>/../programs for the
/// build tree's tests). Throws user_error naming TROUPE_PROGRAMS_DIR when none exists.
std::filesystem::path programs_dir();

/// Names of the built-in programs (file stems in programs_dir()).
std::vector<std::string> builtin_programs();

/// Loads a built-in by name or a file by path (relative paths: the working directory, then
/// `base_dir`). Throws troupe::user_error / validation_failed with every problem.
program_ptr load_program(const std::string& ref, const std::filesystem::path& base_dir = {});

/// Parses a program definition (validating everything); `where` prefixes error paths.
program_ptr parse_program(const nlohmann::json& doc, const std::string& where);
/// Reads a program definition through `r` (problems go to its errors); in describe mode
/// this describes the program format (program_schema.hpp).
void read_program(params_reader& r, program& p);

// -- node params --------------------------------------------------------------

/// Checks a node's `params` against the program's declared params.
void validate_params(const program& p, params_reader& r);

/// The node's params: declared defaults overlaid by `node_params`, as template text.
std::map<std::string, std::string> param_values(const program& p,
                                                const nlohmann::json& node_params);

/// Absolute path of the program's binary, or a troupe::user_error naming the Debian package.
std::string resolve_binary(const program& p);

/// The first executable `name` in $PATH's directories (absolute), or "" when there is none.
std::string find_on_path(const std::string& name);

} // namespace troupe::backends::local
