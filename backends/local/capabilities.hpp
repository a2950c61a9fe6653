#pragma once
// What the local backend can do to the nodes of a deployment, and why not: one answer for
// `troupe validate --backend local` before any run and for the acknowledgements during it
// (the fabric and proxy actors ask this first), so the two never disagree.

#include <optional>
#include <string>
#include <vector>

#include "actors/backend.hpp"
#include "backends/local/program.hpp"

namespace troupe::backends::local {

/// What a deployment's hosts cannot give its nodes, and why (the ssh backend's limits; the
/// local backend has none).
struct host_limits {
  std::optional<std::string> no_netns; ///< why no node gets a network namespace of its own
  /// Whether this machine's netns_refusal says if nodes get namespaces (the local backend's
  /// nodes run here); false: the hosts' agents were asked, and no_netns holds a refusal.
  bool netns_here = true;
  std::optional<std::string> no_skew; ///< why no node's clock can be skewed
};

class capabilities {
public:
  struct node {
    std::string id;
    const program* prog = nullptr;
  };

  // -- constructors -----------------------------------------------------------

  /// `fabric`: whether the deployment has link relays (the backend's "fabric" param).
  capabilities(std::vector<node> nodes, bool fabric, host_limits limits = {})
    : nodes_(std::move(nodes))
    , fabric_(fabric)
    , limits_(std::move(limits)) {}

  // -- queries ----------------------------------------------------------------

  /// Why the backend cannot do `r` (its nodes, or every node when it names none), or nothing.
  std::optional<std::string> refusal(const fault_request& r) const;

  /// Whether the nodes' program can have its peer connections cut (and so needs a heal).
  bool cuttable(const program& p) const;

  /// Whether the peer traffic of `p` goes through link relays (with the fabric on).
  bool relayed(const program& p) const { return fabric_ && relay_refusal(p) == std::nullopt; }

  /// Why peer traffic of `p` cannot go through link relays, or nothing.
  std::optional<std::string> relay_refusal(const program& p) const;

  /// Whether nodes of `p` run in network namespaces of their own (node_namespaces.hpp).
  bool namespaced(const program& p) const;

  /// Why the clock of `p`'s nodes cannot be skewed (no libfaketime, or a binary that does
  /// not read time through libc), or nothing.
  static std::optional<std::string> skew_refusal(const program& p);

  /// Why no node of the local backend can be made Byzantine (the `byzantine` workload).
  static std::string byzantine_refusal();

private:
  /// Why traffic of `p` cannot be cut or shaped (the first reason that applies), or nothing.
  std::optional<std::string> network_refusal(const program& p, const std::string& action,
                                             const fault_request& r) const;

  std::vector<node> nodes_;
  bool fabric_ = true;
  host_limits limits_;
};

} // namespace troupe::backends::local
