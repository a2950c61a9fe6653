#pragma once
// The scenario model: what to run (topology, workloads, expectations, duration, seed), in
// whichever world the backend section names. Built in C++ (ScenarioBuilder) or read from
// JSON (scenario_json.hpp); both give the same value, and JSON round-trips.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe {

using duration = std::chrono::nanoseconds;

/// How the simulator carries a link's messages (live, the program's own sockets decide).
/// Ordered so that a link between two ends takes the larger: an explicit choice over the
/// model's, and `stream` over `datagram` (a link is TCP when one end speaks TCP).
enum class link_transport : uint8_t {
  model_default, ///< the node model's choice (the chain model: stream)
  datagram,      ///< a lost message is gone
  stream,        ///< TCP-like: a loss costs a retransmission; a partition breaks the connection
};

/// Properties of a network link. The topology's profile applies to every link; a group's
/// profile (when set) applies to links touching that group's nodes.
struct link_profile {
  duration latency = std::chrono::milliseconds(50);
  duration jitter = duration::zero();
  double loss = 0.0;          ///< probability 0..1 that a message is lost
  uint64_t bandwidth_bps = 0; ///< bits per second; 0 = unlimited
  link_transport transport = link_transport::model_default;
  /// Written in the scenario (`topology.link` or a group's `link`), not the defaults above.
  /// The simulator needs a latency for every link and takes the defaults; live backends shape
  /// their link relays only by a profile the scenario gave (a real network has its own).
  bool given = false;
  bool operator==(const link_profile& o) const {
    return latency == o.latency && jitter == o.jitter && loss == o.loss &&
           bandwidth_bps == o.bandwidth_bps && transport == o.transport && given == o.given;
  }
};

/// How a node is realised: `model` in the simulator, `program` live. `params` is free-form
/// and checked by the model's / program's own validator.
struct node_spec {
  std::string model;
  std::string program;
  nlohmann::json params = nlohmann::json::object();
  bool operator==(const node_spec& o) const {
    return model == o.model && program == o.program && params == o.params;
  }
};

/// A node's `program` names a program file (a path, or a name ending in .json) rather than a
/// built-in program of the registry.
inline bool is_program_file(const std::string& program) {
  return program.find('/') != std::string::npos ||
         (program.size() > 5 && program.compare(program.size() - 5, 5, ".json") == 0);
}

/// A group's `scrape` key (live backends only): read the program's /metrics every `every`
/// and summarise `series` (empty: the program's default series) in the report.
struct scrape_config {
  duration every = std::chrono::seconds(1);
  std::vector<std::string> series; ///< selectors: name or name{label="value"}
  bool operator==(const scrape_config& o) const { return every == o.every && series == o.series; }
};

struct group {
  std::string name;
  std::string role; ///< e.g. "validator" (leads/mines) or "observer"; defaults to name
  /// False when `role` was left out and took the group's name. Says how the scenario was
  /// written, not what runs, so operator== leaves it out; JSON writes `role` only when given
  /// (a round trip keeps it, and a built scenario is checked like the file it stands for).
  bool role_given = true;
  uint32_t count = 1;
  node_spec node;
  std::optional<link_profile> link;
  std::optional<scrape_config> scrape;
  bool operator==(const group& o) const {
    return name == o.name && role == o.role && count == o.count && node == o.node &&
           link == o.link && scrape == o.scrape;
  }
};

enum class layout_kind { star, chain, ring, mesh, random };

struct layout {
  layout_kind kind = layout_kind::mesh;
  uint32_t degree = 0; ///< random only: each node gets at least this many peers
  bool operator==(const layout& o) const { return kind == o.kind && degree == o.degree; }
};

struct topology {
  std::vector<group> groups;
  troupe::layout layout;
  link_profile link;
  bool operator==(const topology& o) const {
    return groups == o.groups && layout == o.layout && link == o.link;
  }
};

/// One workload or expectation: a registered kind plus its parameters (kept as JSON and
/// checked by the kind's validator). `name` defaults to the kind.
struct kind_entry {
  std::string kind;
  std::string name;
  nlohmann::json params = nlohmann::json::object();
  bool operator==(const kind_entry& o) const {
    return kind == o.kind && name == o.name && params == o.params;
  }
};

/// Which world to run in, and that backend's settings.
struct backend_section {
  std::string name = "sim";
  nlohmann::json params = nlohmann::json::object();
  bool operator==(const backend_section& o) const { return name == o.name && params == o.params; }
};

struct scenario {
  std::string name;
  std::string description;
  uint64_t seed = 1;
  duration run_duration = std::chrono::minutes(1);
  troupe::topology topology;
  backend_section backend;
  std::vector<kind_entry> workloads;
  std::vector<kind_entry> expectations;
  bool operator==(const scenario& o) const {
    return name == o.name && description == o.description && seed == o.seed &&
           run_duration == o.run_duration && topology == o.topology && backend == o.backend &&
           workloads == o.workloads && expectations == o.expectations;
  }
};

const char* to_string(layout_kind k) noexcept;

} // namespace troupe
