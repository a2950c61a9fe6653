#pragma once
// The hosts an ssh run may use, from an inventory file (the backend param "hosts") or, later,
// from a provisioner. The file is JSON:
//
//   {"hosts": [{"name": "a1", "address": "10.0.0.5", "port": 22, "user": "troupe",
//               "identity": "keys/fleet", "labels": ["miners"], "nodes_max": 8}, ...],
//    "known_hosts": "fleet_known_hosts", "host_keys": "strict"}
//
// (or the list of hosts alone). Only `address` is required: port 22, the invoking user, ssh's
// own default keys, no labels, no limit. Relative `identity` and `known_hosts` paths are
// relative to the inventory file. `host_keys` is "strict" (the default for an inventory: every
// host's key must already be in `known_hosts`, default ~/.ssh/known_hosts) or "accept-new"
// (a host seen first is trusted and recorded in the run's own known_hosts).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe::backends::ssh {

struct ssh_host {
  std::string name;    ///< how messages and the placement name it (default: its address)
  std::string address; ///< host name or IP address
  uint16_t port = 22;
  std::string user;     ///< "" = the invoking user
  std::string identity; ///< private key file, absolute ("" = ssh's defaults)
  std::vector<std::string> labels;
  uint32_t nodes_max = 0; ///< 0: no limit
  /// "user@address" (without the user when none is set), for ssh's command line.
  std::string destination() const { return user.empty() ? address : user + "@" + address; }
  /// "a1 (10.0.0.5:22)", for messages.
  std::string describe() const;
  bool has_label(const std::string& l) const;
};

struct inventory {
  std::vector<ssh_host> hosts;
  std::string known_hosts;          ///< absolute; "" = ~/.ssh/known_hosts
  std::string host_keys = "strict"; ///< or "accept-new"
  std::filesystem::path source;     ///< the file it was read from
};

/// Reads and checks an inventory document; every problem at once, each with its JSON path
/// prefixed by `where` (e.g. "hosts.json: hosts[2].port: ..."), as validation_failed.
inventory parse_inventory(const nlohmann::json& doc, const std::string& where,
                          const std::filesystem::path& base_dir);

/// Loads the file (relative paths: the working directory): user_error with one sentence when
/// it cannot be read or is not JSON, validation_failed with every problem otherwise.
inventory load_inventory(const std::filesystem::path& file);

} // namespace troupe::backends::ssh
