#pragma once
// `log_pattern`: at the end of the run, at most `max_matches` lines (default 0) of the
// selected nodes' logs (`<run_dir>/nodes/<id>.log`) match `pattern` (RE2 syntax, at most
// log_pattern_chars_max characters, case-insensitive unless "ignore_case": false; matched in
// time linear in the log, actors/log_scan.hpp). Evidence: matches per node and the first
// matching lines.
//
// Node logs exist only where real programs run (live backends). When a selected node has no
// log — always so in sim, which simulates nodes and writes none — the expectation does not
// pass vacuously: it fails and says so, unless "missing_logs": "skip", which passes with a
// summary that starts "not checked".
//
//   {"kind": "log_pattern", "pattern": "panic|assert", "nodes": "all", "max_matches": 0}

#include "actors/registry.hpp"

namespace troupe::expectations {

actor_kind log_pattern_kind();

} // namespace troupe::expectations
