#include "backends/adapters/bitcoin_rpc.hpp"

#include <httplib.h>

#include <set>

#include "actors/errors.hpp"
#include "actors/params.hpp"
#include "actors/url.hpp"

namespace troupe::backends::adapters {

namespace {

std::string host_of(const std::string& address) {
  auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

/// A connection idle this long is closed rather than reused (below the program's
/// -rpcservertimeout: bitcoin_rpc.hpp).
constexpr auto keep_alive_idle_max = std::chrono::milliseconds(1000);

} // namespace

// -- constructors -----------------------------------------------------------------

bitcoin_rpc::bitcoin_rpc(const nlohmann::json& settings, std::string node_id,
                         std::chrono::milliseconds timeout, const std::string& where)
  : node_(std::move(node_id)) {
  std::vector<validation_error> errors;
  params_reader r{settings, where, errors};
  r.allow({"kind"});
  auto url = r.string("url", "", true);
  auto user = r.string("user", "");
  auto password = r.string("password", "");
  wallet_ = r.string("wallet", "troupe");
  auto min_text = r.string("amount_min", "10000");
  r.finish();
  if (!errors.empty())
    throw validation_failed(std::move(errors));
  try {
    amount_min_ = std::stoull(min_text);
  } catch (const std::exception&) {
    throw user_error(where + ".amount_min: must be an integer number of base units, got \"" +
                     min_text + "\"");
  }
  const auto u = parse_http_url(url, where + ".url");
  http_ = std::make_unique<httplib::Client>(u.host, u.port);
  if (!user.empty())
    http_->set_basic_auth(user, password);
  http_->set_keep_alive(true);
  http_->set_connection_timeout(timeout);
  http_->set_read_timeout(timeout);
  http_->set_write_timeout(timeout);
}

bitcoin_rpc::~bitcoin_rpc() = default;

// -- raw calls --------------------------------------------------------------------

httplib::Result bitcoin_rpc::post(const std::string& path, const std::string& body) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_use_ >= keep_alive_idle_max)
    http_->stop(); // closes the idle connection (none is in flight): the next one is fresh
  auto res = http_->Post(path, body, "application/json");
  last_use_ = std::chrono::steady_clock::now();
  return res;
}

nlohmann::json bitcoin_rpc::call(const std::string& method, nlohmann::json params, bool wallet) {
  nlohmann::json req{
    {"jsonrpc", "1.0"}, {"id", next_id_++}, {"method", method}, {"params", std::move(params)}};
  auto path = wallet ? "/wallet/" + wallet_ : std::string("/");
  auto res = post(path, req.dump());
  if (!res)
    throw rpc_error("RPC " + method + " to " + node_ +
                    " failed: " + httplib::to_string(res.error()));
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(res->body);
  } catch (const nlohmann::json::exception&) {
    throw rpc_error("RPC " + method + " to " + node_ + " failed: HTTP " +
                    std::to_string(res->status) + " " +
                    (res->body.size() > 120 ? res->body.substr(0, 120) : res->body));
  }
  if (body.contains("error") && !body["error"].is_null()) {
    auto& e = body["error"];
    auto msg = e.contains("message") ? e["message"].get<std::string>() : e.dump();
    auto code = e.contains("code") ? e["code"].dump() : "?";
    throw rpc_error("RPC " + method + " to " + node_ + " failed: " + msg + " (code " + code + ")");
  }
  return body["result"];
}

std::string bitcoin_rpc::amount_text(uint64_t base_units) {
  auto whole = std::to_string(base_units / 100000000);
  auto frac = std::to_string(base_units % 100000000);
  return whole + "." + std::string(8 - frac.size(), '0') + frac;
}

// -- adapter ----------------------------------------------------------------------

node_status bitcoin_rpc::status() {
  // One batch, one round trip. getblockchaininfo reads height and tip under one lock, so
  // they always agree.
  nlohmann::json batch = nlohmann::json::array();
  int id = 0;
  for (auto m : {"getblockchaininfo", "getconnectioncount", "getmempoolinfo"})
    batch.push_back(
      {{"jsonrpc", "1.0"}, {"id", id++}, {"method", m}, {"params", nlohmann::json::array()}});
  auto res = post("/", batch.dump());
  if (!res)
    throw rpc_error("RPC status to " + node_ + " failed: " + httplib::to_string(res.error()));
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(res->body);
  } catch (const nlohmann::json::exception&) {
    throw rpc_error("RPC status to " + node_ + " failed: HTTP " + std::to_string(res->status));
  }
  if (!body.is_array() || body.size() != 3)
    throw rpc_error("RPC status to " + node_ + " failed: unexpected reply " + describe_json(body));
  for (auto& item : body)
    if (item.contains("error") && !item["error"].is_null())
      throw rpc_error("RPC status to " + node_ +
                      " failed: " + item["error"].value("message", std::string("error")));
  node_status st;
  st.id = node_;
  st.up = true;
  st.height = body[0]["result"]["blocks"].get<uint64_t>();
  st.tip = body[0]["result"]["bestblockhash"].get<std::string>();
  st.peers = body[1]["result"].get<uint32_t>();
  st.mempool = body[2]["result"]["size"].get<uint32_t>();
  return st;
}

block_info bitcoin_rpc::block_at(uint64_t height) {
  auto hash = call("getblockhash", {height}).get<std::string>();
  auto blk = call("getblock", {hash, 1});
  block_info b;
  b.height = blk["height"].get<uint64_t>();
  b.hash = hash;
  b.parent = blk.value("previousblockhash", std::string{});
  for (auto& t : blk["tx"])
    b.txids.push_back(t.get<std::string>());
  return b;
}

submit_result bitcoin_rpc::submit(const transaction& tx, const std::string& to) {
  submit_result r;
  if (to.empty()) {
    r.reason = "no destination address (wallet setup did not run)";
    return r;
  }
  try {
    auto amount = std::max<uint64_t>(tx.amount, amount_min_);
    r.real_id = call("sendtoaddress", {to, amount_text(amount)}, true).get<std::string>();
    r.accepted = true;
  } catch (const rpc_error& e) {
    r.reason = e.what();
  }
  return r;
}

std::string bitcoin_rpc::produce_block(const std::string& reward_address) {
  if (reward_address.empty())
    throw rpc_error("cannot mine on " + node_ + ": its wallet has no reward address");
  return generate(1, reward_address);
}

// -- wallet -----------------------------------------------------------------------

void bitcoin_rpc::ensure_wallet() {
  auto loaded = call("listwallets");
  for (auto& w : loaded)
    if (w.get<std::string>() == wallet_)
      return;
  try {
    // load_on_startup (last argument) brings the wallet back after a restart.
    call("createwallet", {wallet_, false, false, "", false, false, true});
  } catch (const rpc_error& e) {
    if (std::string(e.what()).find("already exists") == std::string::npos)
      throw;
    call("loadwallet", {wallet_, true});
  }
}

std::string bitcoin_rpc::new_address() {
  return call("getnewaddress", nlohmann::json::array(), true).get<std::string>();
}

std::string bitcoin_rpc::generate(uint64_t n, const std::string& address) {
  auto hashes = call("generatetoaddress", {n, address});
  return hashes.empty() ? std::string{} : hashes.back().get<std::string>();
}

std::string bitcoin_rpc::send_many(const std::vector<std::pair<std::string, uint64_t>>& outputs) {
  auto amounts = nlohmann::json::object();
  for (auto& [addr, amount] : outputs)
    amounts[addr] = amount_text(amount);
  return call("sendmany", {"", amounts}, true).get<std::string>();
}

uint64_t bitcoin_rpc::balance() {
  auto b = call("getbalances", nlohmann::json::array(), true);
  auto coins = b["mine"]["trusted"].get<double>() + b["mine"]["untrusted_pending"].get<double>();
  return static_cast<uint64_t>(coins * 1e8 + 0.5);
}

// -- peer controls ----------------------------------------------------------------

control_ack bitcoin_rpc::cut(const std::vector<peer_endpoint>& peers, bool isolate) {
  try {
    if (isolate) {
      // All local nodes share 127.0.0.1: banning it refuses every inbound peer, and the
      // disconnects below drop the connections that exist.
      auto hosts = std::set<std::string>{};
      for (auto& p : peers)
        hosts.insert(host_of(p.address));
      for (auto& h : hosts) {
        try {
          call("setban", {h, "add", 86400 * 365});
        } catch (const rpc_error& e) {
          if (std::string(e.what()).find("already banned") == std::string::npos)
            throw;
        }
      }
    }
    for (auto& p : peers) {
      try {
        call("addnode", {p.address, "remove"});
      } catch (const rpc_error&) {
        // Not an added node of ours: nothing to remove.
      }
    }
    // Outbound connections carry the peer's listening address; inbound ones are cut by the
    // peer's own `cut` (a partition cuts both sides) or refused by the ban (isolation).
    auto info = call("getpeerinfo");
    std::set<std::string> wanted;
    for (auto& p : peers)
      wanted.insert(p.address);
    for (auto& peer : info) {
      auto addr = peer.value("addr", std::string{});
      bool inbound = peer.value("inbound", false);
      if ((isolate) || (!inbound && wanted.count(addr))) {
        try {
          call("disconnectnode", {"", peer["id"]});
        } catch (const rpc_error&) {
          // Already gone.
        }
      }
    }
    return {true, ""};
  } catch (const rpc_error& e) {
    return {false, e.what()};
  }
}

control_ack bitcoin_rpc::join(const std::vector<peer_endpoint>& peers) {
  try {
    call("clearbanned");
    for (auto& p : peers) {
      try {
        call("addnode", {p.address, "add"});
      } catch (const rpc_error&) {
        // Already added.
      }
      try {
        call("addnode", {p.address, "onetry"});
      } catch (const rpc_error&) {
        // The peer may be down; the added-node thread retries.
      }
    }
    return {true, ""};
  } catch (const rpc_error& e) {
    return {false, e.what()};
  }
}

} // namespace troupe::backends::adapters
