#pragma once
// `jobs`: a job campaign as part of a scenario. The campaign runs through the real job engine
// and its SQLite store, with simulated workers on the actor clock — virtual time in `sim`
// (a year-long campaign in seconds), wall time live — or, on live backends only, with real
// workers: command workers that claim over the engine's HTTP API on 127.0.0.1, and/or outside
// workers on "serve_port" (see workloads/jobs_live.hpp). Its summary, a jobs-by-status series
// and per-type latency go to the runner (and so to report.json's `jobs` section and to the
// `jobs_complete` expectation).
//
//   {"kind": "jobs", "campaign": "replay",
//    "replay_config": "scenarios/data/replay-test/test-full-run.json",
//    "hosts": 8, "blocks_per_second": 2000, "snapshot_load": "10m", "error_p": 0, "crash_p": 0,
//    "lease": "6h", "store": "file", "sample_every": "1h"}
//
//   {"kind": "jobs", "campaign": "pipeline", "count": 1000,
//    "pipeline": {"name": "proving", "stages": [{"type": "snos"}, ...]},
//    "workers": [{"type": "snos", "workers": 16,
//                 "process_latency": {"dist": "lognormal", "median_ms": 4000, "sigma": 0.4},
//                 "fail_p": 0.02, "crash_p": 0.005, "verify_pending_p": 0.3}, ...]}
//
//   live (backend "local"): {"kind": "jobs", "campaign": "pipeline", "count": 20, "pipeline": ...,
//    "workers": [{"type": "snos", "workers": 2, "timeout": "30s",
//                 "command": "printf %s {key} | sha256sum"}, ...]}
//   {"kind": "jobs", "campaign": "replay", "replay_config": "...",
//    "workers": [{"workers": 4, "command": "replay.sh {start_block_num} {end_block_num}"}]}
//   {"kind": "jobs", "campaign": "pipeline", ..., "external_workers": true, "serve_port": 4100}
//
// Relative paths are read from the current working directory.

#include "actors/registry.hpp"

namespace troupe::workloads {

actor_kind jobs_kind();

} // namespace troupe::workloads
