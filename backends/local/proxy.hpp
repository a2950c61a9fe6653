#pragma once
// The actors of a local deployment: one proxy per node (answers the node protocol by calling
// the node through its adapter), the fabric (network faults through the adapters' peer
// controls) and the block driver (the slot lottery for programs that do not produce blocks
// themselves). All are detached: their RPC blocks their own thread, never the runner's.

#include <caf/all.hpp>

#include "backends/local/world.hpp"

namespace troupe::backends::local {

using poll_atom = caf::atom_constant<caf::atom("poll")>;
using slot_atom = caf::atom_constant<caf::atom("slot")>;

/// The node-protocol actor for node `index` (see actors/node_protocol.hpp). It polls the node
/// every `w->poll_interval` and pushes block events (added, and finalized `finality_depth`
/// blocks deep) to subscribers, with troupe transaction ids.
caf::actor spawn_proxy(caf::actor_system& sys, world_ptr w, size_t index);

/// The fabric actor (fabric_actor.cpp): partition, heal, set_link, clog and skew, through
/// the link relays or the adapters' peer controls; what neither can do is refused.
caf::actor spawn_fabric(caf::actor_system& sys, world_ptr w);

/// The block driver: every slot each producer leads with probability `active_slot_coeff`,
/// by the chain model's own lottery (key = first draw of troupe::rng::stream(seed, id),
/// slots numbered from 1 since the run origin); a leader mines one block.
caf::actor spawn_block_driver(caf::actor_system& sys, world_ptr w, std::chrono::milliseconds slot,
                              std::vector<double> coeff_per_node);

} // namespace troupe::backends::local
