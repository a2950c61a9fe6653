#pragma once
// Swarm testing (TigerBeetle's sense): a workload may declare ranges for its fault parameters,
// and a run with `--vary` draws each one from the seed, so that across a swarm some seeds
// partition often, some restart often, some do both. The ranges sit beside the parameters:
//
//   {"kind": "chaos", "restarts": {...}, "partitions": {...},
//    "vary": {"restarts.delay_max": ["20s", "2m"], "partitions.split": [0.1, 0.5]}}
//
// A key names `<section>.<parameter>` of the same workload; its value is [min, max] in the
// parameter's own unit (durations as strings, numbers as numbers). Without --vary the
// ranges are checked and the written values apply. Each value comes from its own stream
// (seed, "vary/<workload>/<key>"): adding a range never shifts another.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/params.hpp"
#include "actors/scenario/scenario.hpp"

namespace troupe {

/// One parameter a workload lets `vary` draw: `<section>.<parameter>`, its unit, and (for
/// numbers) the bounds the parameter itself accepts.
struct vary_key {
  std::string key;
  bool is_duration = true;
  double min = 0, max = 0; ///< numbers only
};

/// Reads the workload's `vary` object (if any) and checks it against `keys`.
void read_vary(params_reader& r, const std::vector<vary_key>& keys);

/// Draws every workload's ranges from `seed`, writes the drawn values into the workload's
/// parameters and removes `vary`. Returns what was drawn, {"<workload>": {"<key>": value}}
/// (an empty object when the scenario declares no ranges).
nlohmann::json apply_vary(scenario& s, uint64_t seed);

} // namespace troupe
