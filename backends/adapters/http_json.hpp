#pragma once
// `http-json`: a generic adapter configured entirely in the program JSON, so that a new node
// kind needs only a JSON file. For each verb (status, peers, mempool, submit, produce) the
// settings give an HTTP method, a path, headers, a body template and JSON pointers that pick
// values from the response:
//
//   "status": {"method": "POST", "path": "/v3/maintenance/status", "body": "{}",
//              "height": "/header/revision", "tip": "/header/revision"}
//
// Pointers: height, tip, peers, mempool (status-like verbs), height and id (submit). A
// pointer to an array or object counts its entries; numeric strings are numbers (gRPC
// gateways print 64-bit integers as strings). Body templates may use {tx.id}, {tx.from},
// {tx.to}, {tx.amount}, {tx.bytes}, {tx.id_base64}, {tx.value_base64}. Top-level `headers`
// and `auth` ({user, password}: basic auth) apply to every verb.
//
// Such nodes have no block stream: the proxy reports each new height it sees as a block.

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "backends/adapters/adapter.hpp"

namespace httplib {
class Client;
}

namespace troupe::backends::adapters {

class http_json : public adapter {
public:
  struct verb {
    std::string method = "GET";
    std::string path = "/";
    std::string body;
    std::map<std::string, std::string> headers;
    std::map<std::string, std::string> pointers; ///< height, tip, peers, mempool, id
  };

  // -- constructors -----------------------------------------------------------

  http_json(const nlohmann::json& settings, std::string node_id, std::chrono::milliseconds timeout,
            const std::string& where);
  ~http_json() override;

  // -- adapter ----------------------------------------------------------------

  std::string kind() const override { return "http-json"; }
  bool has_blocks() const override { return false; }
  node_status status() override;
  block_info block_at(uint64_t height) override;
  submit_result submit(const transaction& tx, const std::string& to) override;
  std::string produce_block(const std::string& reward_address) override;

  /// Base64 (RFC 4648, padded).
  static std::string base64(const std::string& bytes);

private:
  nlohmann::json request(const std::string& name, const verb& v, const std::string& body);
  static std::optional<uint64_t> number_at(const nlohmann::json& doc, const std::string& ptr);
  static std::string text_at(const nlohmann::json& doc, const std::string& ptr);

  std::string node_;
  std::map<std::string, std::string> headers_;
  std::map<std::string, verb> verbs_;
  std::string base_path_;
  std::unique_ptr<httplib::Client> http_;
};

} // namespace troupe::backends::adapters
