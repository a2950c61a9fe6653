#pragma once
// An adapter is how a proxy actor talks to one kind of real node. Calls block (HTTP to the
// node), so only detached actors call them, each through its own adapter instance (an
// instance is not shared between threads).
//
// Settings come from the program's `adapter` section, rendered for one node.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/node_types.hpp"

namespace troupe::backends::adapters {

/// A call to the node failed: transport error, HTTP error or an error reply. The message is
/// one sentence naming the node and the call.
class rpc_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// One block as the node reports it; `txids` are the node's own transaction ids.
struct block_info {
  uint64_t height = 0;
  std::string hash;
  std::string parent;
  std::vector<std::string> txids;
};

struct submit_result {
  bool accepted = false;
  std::string reason;             ///< why not, when not accepted
  std::string real_id;            ///< the node's id for the transaction (empty if none)
  std::optional<uint64_t> height; ///< where it landed, when the node says so at once (etcd)
};

/// Another node, as a peer control names it.
struct peer_endpoint {
  std::string id;      ///< troupe node id
  std::string address; ///< how this node reaches it, e.g. 127.0.0.1:20001
};

/// What a program with a `wallet` section needs from its adapter before the run: a wallet,
/// addresses, blocks mined to an address and one payment to many (backends/adapters/
/// wallet_funding). Adapters of programs without wallets do not offer it.
class wallet_rpc {
public:
  virtual ~wallet_rpc() = default;
  /// Creates the wallet (loaded again on restart), or loads it if it exists.
  virtual void ensure_wallet() = 0;
  virtual std::string new_address() = 0;
  /// Mines `n` blocks to `address`; returns the last block hash.
  virtual std::string generate(uint64_t n, const std::string& address) = 0;
  /// One transaction paying every (address, amount in base units) pair; returns its txid.
  virtual std::string send_many(const std::vector<std::pair<std::string, uint64_t>>& outputs) = 0;
};

class adapter {
public:
  virtual ~adapter() = default;

  // -- properties -------------------------------------------------------------

  virtual std::string kind() const = 0;
  /// True when block_at() gives real blocks (hash, parent, transactions).
  virtual bool has_blocks() const = 0;

  // -- node protocol ----------------------------------------------------------

  /// height, tip, peers and mempool (id, up and final_* are the proxy's). Throws rpc_error.
  virtual node_status status() = 0;
  /// The block at `height` on the node's best chain. Throws rpc_error.
  virtual block_info block_at(uint64_t height) = 0;
  /// Submits a transaction paying `to` (an address from the node's wallet setup, or empty).
  /// Rejections are results; transport failures are results too (the node may be down).
  virtual submit_result submit(const transaction& tx, const std::string& to) = 0;

  // -- block production ---------------------------------------------------------

  /// Makes the node produce one block now, paying `reward_address` where the node has such
  /// a thing; returns the block's hash (or "" when the node does not say). Throws rpc_error.
  virtual std::string produce_block(const std::string& reward_address) {
    (void) reward_address;
    throw rpc_error(kind() + " adapter cannot produce blocks");
  }

  // -- peer controls ----------------------------------------------------------

  /// Cuts this node's connections to `peers` and keeps them cut; `isolate` means the node
  /// must be cut from every other node (peers then lists them all).
  /// The wallet calls of this adapter; nullptr when its program has none.
  virtual wallet_rpc* wallet() { return nullptr; }

  virtual control_ack cut(const std::vector<peer_endpoint>& peers, bool isolate) {
    (void) peers;
    (void) isolate;
    return {false, "network faults are not supported by the " + kind() + " adapter"};
  }
  /// Lifts every cut and reconnects to `peers` (the node's topology peers).
  virtual control_ack join(const std::vector<peer_endpoint>& peers) {
    (void) peers;
    return {false, "network faults are not supported by the " + kind() + " adapter"};
  }
};

using adapter_ptr = std::unique_ptr<adapter>;

/// Builds the adapter for one node from its rendered settings. Throws troupe::user_error when
/// the settings are wrong (every problem, with paths under `where`).
adapter_ptr make_adapter(const nlohmann::json& settings, const std::string& node_id,
                         std::chrono::milliseconds timeout, const std::string& where);

} // namespace troupe::backends::adapters
