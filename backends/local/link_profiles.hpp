#pragma once
// The scenario's written link profiles, live: `topology.link` and each group's `link` shape
// the link relays before the nodes start (latency, jitter and bandwidth in the relays, packet
// loss by the namespaces' drop rules), as a set_link step would. A profile nobody wrote is the
// simulator's default and shapes nothing live: a real network has its own latency.

namespace troupe::backends::local {

struct world;

/// Shapes every relayed link (w.topo's peers, through w.fabric) whose profile was written,
/// and records the shapes in w.link_shapes. A backend refuses profiles it cannot apply before
/// deploying (actors/link_requests.hpp); an agent that fails here throws user_error.
void shape_written_links(world& w);

} // namespace troupe::backends::local
