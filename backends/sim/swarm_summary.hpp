#pragma once
// What a swarm found, as plain JSON (swarm.json): one entry per seed taken from that seed's
// report.json, and the summary over them (pass rate per expectation, the distribution of
// key figures, the failing seeds with their reproduce commands). A pure function of the
// swarm's description and its seeds' results, so shards merged give what one swarm gives.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe::backends {

/// What a swarm is, independent of where it ran: `--shard` is the only part that differs
/// between the pieces of one swarm.
struct swarm_plan {
  std::string scenario; ///< the scenario's name
  std::string file;     ///< the scenario file as given (reproduce commands name it)
  uint64_t seed_first = 1, seed_last = 1;
  bool vary = false;
  uint32_t shard_index = 0, shard_count = 1; ///< 0-based: shard K of M is 0..M-1
};

/// The seeds of the plan's shard: those whose offset from seed_first is K modulo M.
std::vector<uint64_t> shard_seeds(const swarm_plan& p);

/// Parses "A..B" (or one seed "A"); throws user_error naming `flag`.
std::pair<uint64_t, uint64_t> parse_seed_range(const std::string& flag, const std::string& text);
/// Parses "K/M" with 0 <= K < M; throws user_error naming `flag`.
std::pair<uint32_t, uint32_t> parse_shard(const std::string& flag, const std::string& text);

/// One seed's entry from its run directory's report.json; `verdict` "timeout" or "error"
/// (with `reason`) when the run left no report.
nlohmann::json seed_result(uint64_t seed, const std::filesystem::path& run_dir, int exit_code,
                           const std::string& reason);

/// swarm.json for `runs` (any order; sorted by seed here). `interrupted`: the swarm was
/// stopped before every seed ran.
nlohmann::json summarise_swarm(const swarm_plan& p, std::vector<nlohmann::json> runs,
                               bool interrupted = false);

/// Joins the swarm.json of every shard of one swarm into the swarm.json of the whole;
/// throws user_error when they are not the shards of one swarm or one is missing.
nlohmann::json merge_swarms(const std::vector<nlohmann::json>& shards);

/// The exit code a swarm's summary stands for: 0 every seed passed, 1 one did not, 130
/// interrupted.
int swarm_exit_code(const nlohmann::json& summary);

} // namespace troupe::backends
