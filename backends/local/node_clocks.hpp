#pragma once
// Clock skew on the local backend: which nodes get a libfaketime clock at spawn (every node
// whose program reads time through libc, when libfaketime is installed, and the scenario asks
// for skew or the backend param "faketime" is "always") and how a skew request reaches it.
// Not every node always: libfaketime reads its control file at every clock read, a cost no
// run without skew should pay. The clock itself is agent::node_clock, so the agent can own it
// later.

#include <filesystem>
#include <memory>
#include <string>

#include "actors/node_types.hpp"
#include "backends/agent/clock_skew.hpp"
#include "backends/agent/connection.hpp"
#include "backends/local/program.hpp"

namespace troupe::backends::local {

struct world;

/// A clock for node `id` of program `p`, its control file in `nodes_dir` (written by `write`:
/// on this machine, or on the node's host by written_by); null when the node cannot be skewed
/// (capabilities::skew_refusal says why). libfaketime is at the same path on every host.
std::shared_ptr<agent::node_clock>
make_node_clock(const program& p, const std::filesystem::path& nodes_dir, const std::string& id,
                agent::node_clock::writer write = agent::node_clock::write_here);

/// Writes a clock's control file on the host of agent `a` (its `run_command`: mkdir, write a
/// temporary file, rename).
agent::node_clock::writer written_by(std::shared_ptr<agent::connection> a);

/// Whether a workload of `s` skews clocks (a "skew" step, or a chaos "clock_skew" section).
bool asks_for_skew(const scenario& s);

/// Applies `cmd` to its node's clock, after the capabilities' answer.
control_ack skew_node(world& w, const clock_skew_cmd& cmd);

} // namespace troupe::backends::local
