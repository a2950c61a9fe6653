#include "backends/adapters/wallet_funding.hpp"

#include <cmath>

#include "actors/errors.hpp"

namespace troupe::backends::adapters {

namespace {

/// Regtest pays 50 coins a block, halving every 150 blocks: count 25 per block to be safe.
constexpr double base_units_per_block_min = 25e8;
constexpr uint64_t funding_blocks_max = 2000;

uint64_t count_at(const nlohmann::json& wallet, const char* key, uint64_t fallback,
                  const std::string& where) {
  if (!wallet.contains(key))
    return fallback;
  const auto& v = wallet[key];
  const std::string text = v.is_string() ? v.get<std::string>() : v.dump();
  try {
    size_t used = 0;
    auto n = std::stoull(text, &used);
    if (used == text.size() && text.find('-') == std::string::npos)
      return n;
  } catch (const std::exception&) {
  }
  throw user_error(where + "." + key + ": must be an integer >= 0, got \"" + text + "\"");
}

} // namespace

funding_plan read_funding_plan(const nlohmann::json& wallet, const std::string& where,
                               size_t nodes) {
  funding_plan p;
  p.mature_blocks = count_at(wallet, "mature_blocks", p.mature_blocks, where);
  p.utxos_per_node = count_at(wallet, "utxos_per_node", p.utxos_per_node, where);
  p.utxo_amount = count_at(wallet, "utxo_amount", p.utxo_amount, where);
  const double total = static_cast<double>(p.utxos_per_node) * static_cast<double>(p.utxo_amount) *
                       static_cast<double>(nodes);
  const auto extra = static_cast<uint64_t>(std::ceil(total / base_units_per_block_min)) + 2;
  if (p.mature_blocks + extra > funding_blocks_max)
    throw user_error(where + ": funding " + std::to_string(nodes) + " nodes with " +
                     std::to_string(p.utxos_per_node) + " outputs of " +
                     std::to_string(p.utxo_amount) + " needs more than " +
                     std::to_string(funding_blocks_max) +
                     " blocks: lower utxos_per_node or utxo_amount");
  return p;
}

std::string fund_addresses(wallet_rpc& funder, const std::string& funder_address,
                           const std::vector<std::string>& addresses, const funding_plan& plan) {
  const double total = static_cast<double>(plan.utxos_per_node) *
                       static_cast<double>(plan.utxo_amount) *
                       static_cast<double>(addresses.size());
  const auto extra = static_cast<uint64_t>(std::ceil(total / base_units_per_block_min)) + 2;
  funder.generate(plan.mature_blocks + extra, funder_address);
  // The same address twice in one sendmany is not allowed: one round per output.
  for (uint64_t u = 0; u < plan.utxos_per_node; ++u) {
    std::vector<std::pair<std::string, uint64_t>> round;
    for (const auto& a : addresses)
      round.emplace_back(a, plan.utxo_amount);
    funder.send_many(round);
  }
  return funder.generate(1, funder_address);
}

} // namespace troupe::backends::adapters
