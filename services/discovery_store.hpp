#pragma once
// The discovery registry's state (services/discovery_server): every node that announced
// itself, kept in SQLite so that a restarted registry still knows who was online.
//
// A node id belongs to the key that first announced it: a submission for the same id under
// another whitelisted key is refused, so one operator cannot replace another's node.

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace troupe::services {

struct discovered_node {
  std::string id;
  std::string program;
  nlohmann::json endpoints = nlohmann::json::object(); ///< name -> "host:port" or URL
  nlohmann::json labels = nlohmann::json::object();    ///< name -> string
  std::string key;                                     ///< the announcing public key
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  uint64_t submissions = 0;

  nlohmann::json to_json() const;
};

class discovery_store {
public:
  /// Opens (creating) the database; ":memory:" keeps nothing. Throws user_error when the
  /// file cannot be opened.
  explicit discovery_store(const std::filesystem::path& db);
  ~discovery_store();
  discovery_store(const discovery_store&) = delete;
  discovery_store& operator=(const discovery_store&) = delete;

  /// Records a submission at `now_ms`; returns an empty string, or why it was refused (the id
  /// belongs to another key; the registry is full).
  std::string submit(const discovered_node& n, int64_t now_ms);
  /// Nodes seen at or after `since_ms`, by id.
  std::vector<discovered_node> seen_since(int64_t since_ms);
  size_t size();

  static constexpr size_t nodes_max = 100'000;

private:
  void exec(const char* sql);

  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

} // namespace troupe::services
