#include "backends/ssh/inventory.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "actors/errors.hpp"
#include "actors/params.hpp"

namespace troupe::backends::ssh {

namespace fs = std::filesystem;
using nlohmann::json;

std::string ssh_host::describe() const {
  std::string where = address + ":" + std::to_string(port);
  return name == address ? where : name + " (" + where + ")";
}

bool ssh_host::has_label(const std::string& l) const {
  return std::find(labels.begin(), labels.end(), l) != labels.end();
}

namespace {

std::string resolve(const std::string& p, const fs::path& base) {
  if (p.empty())
    return p;
  if (p[0] == '~') {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + p.substr(1);
  }
  fs::path path{p};
  return (path.is_absolute() ? path : base / path).lexically_normal().string();
}

ssh_host read_host(params_reader& r, const fs::path& base) {
  ssh_host h;
  h.address = r.string("address", "", true);
  if (r.given("address") && h.address.find_first_of(" \t'\"$`;&|<>") != std::string::npos)
    r.error("address", "must be a host name or an IP address, got \"" + h.address + "\"");
  h.name = r.string("name", h.address);
  h.port = static_cast<uint16_t>(r.integer("port", 22, 1, 65535));
  h.user = r.string("user", "");
  h.identity = resolve(r.string("identity", ""), base);
  h.labels = r.strings("labels");
  h.nodes_max = static_cast<uint32_t>(r.integer("nodes_max", 0, 0, 1000000));
  if (!r.describing() && !h.identity.empty() && !fs::exists(h.identity))
    r.error("identity", "the key file " + h.identity +
                          " does not exist: give the path of the private key this host accepts");
  r.finish();
  return h;
}

} // namespace

inventory parse_inventory(const json& doc, const std::string& where, const fs::path& base_dir) {
  std::vector<validation_error> errors;
  inventory inv;
  json wrapped = doc.is_array() ? json{{"hosts", doc}} : doc;
  if (!wrapped.is_object()) {
    errors.push_back({where, "must be an object {\"hosts\": [...]} or a list of hosts"});
    throw validation_failed(errors);
  }
  params_reader r{wrapped, "", errors};
  r.items(
    "hosts", "a host object {\"address\": ...}",
    [&](params_reader& hr) { inv.hosts.push_back(read_host(hr, base_dir)); }, "a list of hosts");
  inv.known_hosts = resolve(r.string("known_hosts", ""), base_dir);
  inv.host_keys = r.one_of("host_keys", {"strict", "accept-new"}, inv.host_keys);
  r.finish();
  if (errors.empty() && inv.hosts.empty())
    r.error("hosts", "lists no host: name at least one {\"address\": ...}");
  std::set<std::string> names, endpoints;
  for (size_t i = 0; i < inv.hosts.size(); ++i) {
    const auto& h = inv.hosts[i];
    const std::string at = "hosts[" + std::to_string(i) + "]";
    if (!names.insert(h.name).second)
      errors.push_back({at + ".name", "\"" + h.name + "\" names two hosts: give each its own"});
    if (!endpoints.insert(h.address + ":" + std::to_string(h.port)).second)
      errors.push_back(
        {at, h.address + ":" + std::to_string(h.port) + " is listed twice: list each host once"});
  }
  // Paths inside the file, after its name: "hosts.json: hosts[2].port: ...".
  for (auto& e : errors)
    e.path = where.empty() ? e.path : e.path.empty() ? where : where + ": " + e.path;
  if (!errors.empty())
    throw validation_failed(errors);
  return inv;
}

inventory load_inventory(const fs::path& file) {
  std::ifstream in{file};
  if (!in)
    throw user_error("cannot read the ssh inventory " + file.string() +
                     ": give the backend param \"hosts\" the path of a hosts JSON file");
  std::stringstream ss;
  ss << in.rdbuf();
  json doc;
  try {
    doc = json::parse(ss.str());
  } catch (const json::parse_error& e) {
    throw user_error("the ssh inventory " + file.string() + " is not valid JSON (" + e.what() +
                     "): fix the file");
  }
  auto inv = parse_inventory(doc, file.string(), fs::absolute(file).parent_path());
  inv.source = file;
  return inv;
}

} // namespace troupe::backends::ssh
