#pragma once
// The `compose` backend: every node in a container of its own, on a Docker daemon (this
// machine's, or $DOCKER_HOST), from a Compose file troupe generates per run (compose_file.hpp):
// one service per node running the troupe agent of the program's image (`troupe image build`),
// the run's own network, a volume per node, ports published on 127.0.0.1 only, the label
// troupe.run=<run id> on all of it. troupe connects to each container's agent through its
// published port with the run's token; the run itself is the local backend's over those hosts
// (compose_hosts.hpp): each node started by its container's agent, listening on the
// container's address on the run network; link relays inside the dialer's container;
// readiness, controls (stop, start, restart, kill, pause, resume: signals by the agent),
// faults through the relays, clock skew through libfaketime in the image, log tails at the end.
// Teardown removes every container, network and volume of the run, on every exit path (a
// janitor sweeps the label when troupe is killed); `"keep": true` leaves them and prints the
// command that removes them.
//
// `"mode": "swarm"`: the same services deployed as a stack on a Swarm manager (swarm_file.hpp,
// swarm_stack.hpp), nothing published by Swarm; a gateway container of the run publishes every
// node port on 127.0.0.1 and forwards it to the task (gateway.hpp). The rest is unchanged.
//
// Backend params (besides the local backend's, which mean the same here):
//   image          {"PROGRAM": "IMAGE"}: the image of a program's nodes (default: the program's
//                  image.name, else troupe/<program name>:latest)
//   keep (false)   leave the stack after the run (its nodes stopped, their volumes kept)
//   start_timeout (180s)  the stack up and every agent answering
//   mode ("compose")      "swarm": the same services as a stack (`docker stack deploy`) on a
//                         Swarm manager, reached through a gateway container (swarm_stack.hpp)
//
// Refused, with the reason (compose_hosts::compose_limits): network faults of programs that
// need packet rules in a namespace per node (etcd): the containers have no NET_ADMIN and the
// images no nftables.

#include <chrono>
#include <map>
#include <string>

#include "actors/params.hpp"
#include "backends/local/local_backend.hpp"
#include "backends/local/local_options.hpp"

namespace troupe::backends::compose {

struct compose_options {
  local::local_options local; ///< the local backend's params, which mean the same here
  std::map<std::string, std::string> image; ///< program name -> image
  bool keep = false;
  std::chrono::milliseconds start_timeout{180000};
  bool swarm = false; ///< "mode": "swarm": `docker stack deploy` on a Swarm manager
};

/// Reads (and checks) the backend params, the local backend's included; the caller calls
/// r.finish().
compose_options read_options(params_reader& r);

/// The local backend over one container per node.
class compose_backend : public local::local_backend {
public:
  compose_backend();
};

} // namespace troupe::backends::compose
