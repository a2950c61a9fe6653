#pragma once
// Funding the wallets of a bitcoin-family network before a run (programs with a `wallet`
// section, e.g. litecoin-regtest): one funder mines a matured coinbase, pays every node
// `utxos_per_node` outputs of `utxo_amount`, and confirms them with one block. Many outputs
// per node let each node send many transactions per block without chaining unconfirmed
// change.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/adapters/adapter.hpp"

namespace troupe::backends::adapters {

struct funding_plan {
  uint64_t mature_blocks = 101; ///< blocks before a coinbase can be spent (regtest: 100)
  uint64_t utxos_per_node = 10;
  uint64_t utxo_amount = 100000000; ///< base units (litoshis)
};

/// Reads a program's rendered `wallet` section for `nodes` funded nodes. Throws user_error
/// naming `where` for a value that is not a count, or a plan that needs more than 2000 blocks.
funding_plan read_funding_plan(const nlohmann::json& wallet, const std::string& where,
                               size_t nodes);

/// Pays every address in `addresses` as `plan` says, from `funder` (mining to
/// `funder_address`); returns the hash of the block that confirms the payments. Throws
/// rpc_error when a call fails.
std::string fund_addresses(wallet_rpc& funder, const std::string& funder_address,
                           const std::vector<std::string>& addresses, const funding_plan& plan);

} // namespace troupe::backends::adapters
