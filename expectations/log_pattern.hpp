#pragma once
// `log_pattern`: at the end of the run, at most `max_matches` lines (default 0) of the
// selected nodes' logs (`<run_dir>/nodes/<id>.log` and the files rotated from it) match
// `pattern` (RE2 syntax, at most log_pattern_chars_max characters, case-insensitive unless
// "ignore_case": false; matched in time linear in the log, actors/log_scan.hpp). Evidence:
// matches per node, the first matching lines, and who counted them (`counted_by`).
//
// Live, the lines are counted where the nodes run: at start the expectation asks each node
// (log_count_atom) to count the pattern, and a node served by an agent has the agent read its
// log as it grows (backends/agent/log_counter.hpp); at the end it asks again for the counts
// so far ("counted_by": "agent"). A node that cannot count (a backend without an agent, an
// agent that failed) is counted from its file in the run directory ("counted_by": "file").
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
