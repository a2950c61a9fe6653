#pragma once
// The node protocol as CAF messages. A node handle is a `caf::actor` that answers these;
// in `sim` it reaches a model through the simulated network's world, live it wraps an
// adapter for a real program. Workloads and expectations use nothing else.
//
//   (get_status_atom)                       -> node_status
//   (submit_tx_atom, transaction)           -> tx_ack
//   (subscribe_atom, caf::actor subscriber) -> bool; then block_event messages to subscriber
//   (subscribe_atom, caf::actor subscriber, block_filter kinds) -> bool; only those kinds
//   (control_atom, control_action)          -> control_ack
//   (byzantine_atom, byzantine_cmd)         -> control_ack (a refusal where unsupported)
//   (log_count_atom, log_count_request)     -> log_count_report (actors/log_scan.hpp): the
//                                              lines of the node's log that match, counted
//                                              where it runs (from then on, and now); a
//                                              node that cannot count answers counted =
//                                              false or with an error (sim: no handler)
//
// The fabric handle (network-level faults for the whole world) answers:
//   (get_status_atom)                       -> std::vector<node_status> of every node, in
//                                              topology order, or an error when the world
//                                              cannot answer at once (then ask each node)
//   (partition_atom, partition_cmd)         -> control_ack
//   (heal_atom)                             -> control_ack   (heals every partition/clog)
//   (set_link_atom, link_cmd)               -> control_ack
//   (clog_atom, clog_cmd)                   -> control_ack
//   (skew_atom, clock_skew_cmd)             -> control_ack

#include <caf/all.hpp>

#include "actors/node_types.hpp"

namespace troupe {

using get_status_atom = caf::atom_constant<caf::atom("getstatus")>;
using submit_tx_atom = caf::atom_constant<caf::atom("submittx")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using control_atom = caf::atom_constant<caf::atom("control")>;
using partition_atom = caf::atom_constant<caf::atom("partition")>;
using heal_atom = caf::atom_constant<caf::atom("heal")>;
using set_link_atom = caf::atom_constant<caf::atom("setlink")>;
using skew_atom = caf::atom_constant<caf::atom("skew")>;
using clog_atom = caf::atom_constant<caf::atom("clog")>;
using byzantine_atom = caf::atom_constant<caf::atom("byzantine")>;
using log_count_atom = caf::atom_constant<caf::atom("logcount")>;

/// Which block events a subscriber wants: a bit per `block_event::kind_t`. Subscribers that
/// only read finalized events say so: a 1,000-node simulated run otherwise builds, copies and
/// delivers an `added` event (with every transaction id of the block) per block per node to
/// actors that drop it on arrival.
using block_filter = uint8_t;
constexpr block_filter block_filter_of(block_event::kind_t k) noexcept {
  return static_cast<block_filter>(1u << k);
}
constexpr block_filter blocks_added = block_filter_of(block_event::added);
constexpr block_filter blocks_finalized = block_filter_of(block_event::finalized);
constexpr block_filter blocks_all = blocks_added | blocks_finalized;

// -- inspection (lets CAF put these values in messages) -----------------------

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("node_status"), x.id, x.up, x.height, x.tip, x.final_height,
           x.final_tip, x.peers, x.mempool);
}
template <class Inspector> typename Inspector::result_type inspect(Inspector& f, transaction& x) {
  return f(caf::meta::type_name("transaction"), x.id, x.from, x.to, x.amount, x.bytes);
}
template <class Inspector> typename Inspector::result_type inspect(Inspector& f, tx_ack& x) {
  return f(caf::meta::type_name("tx_ack"), x.accepted, x.reason);
}
template <class Inspector> typename Inspector::result_type inspect(Inspector& f, block_event& x) {
  // kind_t's underlying type is uint8_t, and unsigned char may alias any object.
  return f(caf::meta::type_name("block_event"), reinterpret_cast<uint8_t&>(x.kind), x.node,
           x.height, x.hash, x.parent, x.time_ns, x.reorg_depth, x.txs, x.producer);
}
// control_action is an enum: CAF serializes enums natively (an inspect overload would be
// ambiguous with CAF's own).
template <class Inspector> typename Inspector::result_type inspect(Inspector& f, control_ack& x) {
  return f(caf::meta::type_name("control_ack"), x.ok, x.error);
}
template <class Inspector> typename Inspector::result_type inspect(Inspector& f, partition_cmd& x) {
  return f(caf::meta::type_name("partition_cmd"), x.sides, x.symmetric);
}
template <class Inspector> typename Inspector::result_type inspect(Inspector& f, link_cmd& x) {
  return f(caf::meta::type_name("link_cmd"), x.from, x.to, x.latency_ns, x.jitter_ns, x.loss,
           x.bandwidth_bps);
}
template <class Inspector> typename Inspector::result_type inspect(Inspector& f, byzantine_cmd& x) {
  return f(caf::meta::type_name("byzantine_cmd"), x.behaviour, x.invalid, x.twin_of);
}

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, clog_cmd& x) {
  return f(caf::meta::type_name("clog_cmd"), x.from, x.to, x.duration_ns);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clock_skew_cmd& x) {
  return f(caf::meta::type_name("clock_skew_cmd"), x.node, x.offset_ns, x.drift_ppm);
}

} // namespace troupe
