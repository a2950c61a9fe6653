#pragma once
// `commands`: node-side commands, each run on the host of every node it selects (through the
// node's backend: the agent on local), with the node's placeholders, ordered by the run's sync
// service:
//
//   {"kind": "commands", "commands": [
//     {"name": "import", "nodes": "all", "run": "my-cli --datadir {data_dir} import",
//      "signal": "imported"},
//     {"name": "submit", "nodes": "node-0", "when": {"signal": "imported", "count": 3},
//      "run": "my-cli submit", "timeout": "30s"}
//   ]}
//
// A command starts at its "at" (default at once) and, with "when", once that sync state has
// "count" entries; it runs on its nodes in parallel. "signal" enters that state once per node
// whose command exited 0, so the next command can wait for all of them. Each command's node,
// exit status, time and last "tail_lines" output lines go to report.json's "commands" (and a
// command that could not run is a refusal with the reason). The command sees TROUPE_SYNC_URL
// (so it can `troupe sync barrier ...` itself) and TROUPE_NODE_ID.
//
// In sim nothing runs: every command is refused with the reason (no model declares an
// equivalent).

#include "actors/registry.hpp"

namespace troupe::workloads {

actor_kind commands_kind();

} // namespace troupe::workloads
