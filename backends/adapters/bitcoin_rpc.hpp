#pragma once
// `bitcoin-rpc`: JSON-RPC over HTTP (cpp-httplib) to bitcoind-family nodes (litecoind in
// regtest). Settings: url, user, password, wallet (name), amount_min (smallest amount sent,
// in base units; default 10000, above the dust limit).
//
// Partitions: every local node listens on 127.0.0.1, and setban bans by IP, so a ban can
// only cut a node from all others. `cut` therefore isolates with setban (127.0.0.1) plus
// disconnects, and cuts a partial set of peers with `addnode remove` + `disconnectnode`
// (programs run with -connect=0, so nothing reconnects on its own). `join` clears the bans
// and adds the topology peers again with an immediate `onetry` connection.
//
// Connections are kept alive between calls, but never reused after keep_alive_idle_max of
// idleness: the node's RPC server must wait for every open connection before it can shut
// down, so the program runs it with -rpcservertimeout above that limit (idle connections
// close on the server's side soon after a SIGTERM, and a restart is a clean one, never a
// SIGKILL that loses the node's unflushed chain), and the server never closes a connection
// that this side may still reuse.

#include <chrono>
#include <memory>
#include <string>

#include "backends/adapters/adapter.hpp"

namespace httplib {
class Client;
class Result;
} // namespace httplib

namespace troupe::backends::adapters {

class bitcoin_rpc : public adapter, public wallet_rpc {
public:
  // -- constructors -----------------------------------------------------------

  bitcoin_rpc(const nlohmann::json& settings, std::string node_id,
              std::chrono::milliseconds timeout, const std::string& where);
  ~bitcoin_rpc() override;

  // -- adapter ----------------------------------------------------------------

  std::string kind() const override { return "bitcoin-rpc"; }
  bool has_blocks() const override { return true; }
  node_status status() override;
  block_info block_at(uint64_t height) override;
  submit_result submit(const transaction& tx, const std::string& to) override;
  std::string produce_block(const std::string& reward_address) override;
  control_ack cut(const std::vector<peer_endpoint>& peers, bool isolate) override;
  control_ack join(const std::vector<peer_endpoint>& peers) override;
  wallet_rpc* wallet() override { return this; }

  // -- wallet (setup before the run) -----------------------------------------

  void ensure_wallet() override;
  std::string new_address() override;
  std::string generate(uint64_t n, const std::string& address) override;
  std::string send_many(const std::vector<std::pair<std::string, uint64_t>>& outputs) override;
  /// Confirmed + unconfirmed balance in base units.
  uint64_t balance();

  // -- raw calls --------------------------------------------------------------

  /// Calls `method`; on the wallet endpoint when `wallet` is true. Throws rpc_error.
  nlohmann::json call(const std::string& method, nlohmann::json params = nlohmann::json::array(),
                      bool wallet = false);

  /// Litoshis (satoshis) as the decimal string the RPC takes.
  static std::string amount_text(uint64_t base_units);

private:
  std::string node_;
  std::string wallet_;
  uint64_t amount_min_ = 10000;
  /// POSTs `body` to `path` on a connection idle for less than keep_alive_idle_max.
  httplib::Result post(const std::string& path, const std::string& body);

  std::unique_ptr<httplib::Client> http_;
  std::chrono::steady_clock::time_point last_use_{};
  uint64_t next_id_ = 1;
};

} // namespace troupe::backends::adapters
