#pragma once
// The built-in `chain` node model: a slot-based longest-chain protocol in the spirit of
// Ouroboros Praos / Cryptarchia, close enough to Bitcoin-style chains to compare with them.
//
// Protocol, per node:
// - Slots come from the node's own clock (`local_now() / slot`), so clock skew shifts them.
//   In each slot a validator leads with probability `active_slot_coeff`, by a VRF-like
//   lottery: a 64-bit key drawn once from the node's seeded stream `ctx.rng()` (kept on
//   "disk") hashed with the slot number. The schedule is thus a pure function of (seed,
//   node id, slot): downtime, faults and traffic never shift who leads when.
// - A leader builds a block on its tip from the head of its mempool (arrival order, up to
//   `max_block_txs`) and pushes it to every peer; a node relays each new tip to its peers
//   but the sender. Transactions are flooded the same way, in batches every
//   `tx_relay_interval` (Bitcoin's trickle), never back to the peer they came from. Dedup
//   is by hash.
// - Fork choice: the longest chain; on equal height the lower block hash wins. Unlike
//   first-seen, that tie-break is the same on every node whatever the arrival order, so a
//   tie resolves as soon as both blocks have spread instead of waiting for the next block
//   (and it matches Praos, which breaks ties by the lower VRF output).
// - A block `finality_depth` below the tip is final and is never rolled back (the Praos
//   `k` rule): a branch that forks below a node's final height is refused, counted as
//   `deep_forks_refused`. A minority partition that finalized its own blocks therefore
//   stays split after a heal, and the `safety` expectation has something true to report.
// - Resync: a block whose parent is unknown waits among the orphans while the node asks the
//   sender for the parent and its ancestors (`get_blocks`, a batch that doubles while the
//   answer is still orphaned); a node that (re)starts asks every peer for its tip
//   (`get_tip` -> `tip`), and every `announce_every_slots` slots each node tells one peer
//   (round robin) its tip, so a block lost to every link is still fetched. Unanswered
//   requests are retried from the next peer.
//
// What survives a restart (`ctx.persistent()`): every connected block, the best chain, the
// index of transactions on it, the final height and the lottery key. The mempool, orphans
// and pending requests are volatile.
//
// Counters (`ctx.count`): blocks_produced, forks (a block whose parent already had a child,
// counted by every node that sees it), reorgs (adoptions that rolled back >= 1 block),
// deep_forks_refused, orphans_dropped, txs_dropped (mempool full while gossiping).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/errors.hpp"
#include "sim/node_model.hpp"

namespace troupe {
class params_reader;
}

namespace troupe::sim::models {

// -- parameters ---------------------------------------------------------------

struct chain_params {
  duration slot = std::chrono::seconds{1};
  /// Probability that one validator leads a given slot. 0.01 gives a 30-validator network a
  /// block every ~3.8 slots (1 - 0.99^30 = 26% of slots), with ~14% of blocks racing another
  /// one from the same slot: forks happen, but the chain is not all forks.
  double active_slot_coeff = 0.01;
  uint32_t max_block_txs = 500;
  uint32_t tx_bytes = 250;           ///< wire size of a transaction that gives none
  uint32_t block_header_bytes = 400; ///< a block's wire size is this plus its transactions
  uint32_t finality_depth = 10;
  bool leader = true; ///< validators lead; observers (`leader: false`) only follow
  uint32_t mempool_max = 10000;
  /// Transactions are relayed in batches this often (0: each at once, in its own message).
  /// 250 ms adds ~1 s to inclusion on a 1,000-node network and cuts its run time by half;
  /// Bitcoin Core trickles every 2-5 s.
  duration tx_relay_interval = std::chrono::milliseconds{250};
};

/// Reads a node spec's `params` object. Every key is optional (defaults above); `leader`
/// defaults to the value given (from the node's role) and may be overridden. Unknown keys,
/// wrong types and out-of-range values are appended to `errors`, each with its JSON path
/// (`path` + `.key`). Durations are strings with a unit: "1s", "500ms", "1.5s", "1m30s".
chain_params parse_chain_params(const nlohmann::json& params, bool leader, const std::string& path,
                                std::vector<troupe::validation_error>& errors);

/// Reads the chain's keys through `r` without reporting unknown keys, so a node spec's params
/// can be shared with a live program's (the caller reports keys neither knows).
chain_params read_chain_params(params_reader& r, bool leader);

/// A factory for nodes running the chain model with `params`.
sim::model_factory make_chain_model(chain_params params);

// -- wire protocol (exposed for tests and traces) -------------------------------

/// `message::kind` values of the chain model.
enum chain_msg : uint32_t {
  chain_tx = 1,         ///< body: a batch of transactions (a = how many for this receiver, b = its
                        ///< bit: entries marked with it are not for it); flooded
  chain_block = 2,      ///< body: a block; a = requested hash and b = batch size if answering
  chain_get_blocks = 3, ///< a = wanted hash, b = how many blocks ending at it (ancestors too)
  chain_get_tip = 4,    ///< asks the receiver to answer with `chain_tip`
  chain_tip = 5,        ///< a = tip hash, b = tip height
};

/// Limits on volatile state and sync traffic.
constexpr uint32_t chain_sync_batch_max = 128; ///< blocks per `get_blocks` answer
constexpr uint32_t chain_orphans_max = 1024;   ///< blocks waiting for their parent
constexpr uint32_t chain_requests_max = 256;   ///< unanswered `get_blocks` in flight
constexpr uint32_t chain_request_attempts_max = 6;
constexpr uint32_t chain_request_timeout_slots = 3;
constexpr uint32_t chain_announce_every_slots = 8;

/// The genesis block's hash as nodes report it (16 hex digits), shared by all nodes.
const std::string& chain_genesis_hash();

} // namespace troupe::sim::models
