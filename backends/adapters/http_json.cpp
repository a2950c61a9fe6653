#include "backends/adapters/http_json.hpp"

#include <httplib.h>

#include "actors/echo.hpp"
#include "actors/errors.hpp"
#include "actors/params.hpp"
#include "actors/url.hpp"
#include "backends/adapters/bitcoin_rpc.hpp"

namespace troupe::backends::adapters {

// -- helpers ----------------------------------------------------------------------

std::string http_json::base64(const std::string& bytes) {
  static constexpr char table[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6)
      out += table[(v >> s) & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (i + 1 < bytes.size())
      v |= uint8_t(bytes[i + 1]) << 8;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<uint64_t> http_json::number_at(const nlohmann::json& doc, const std::string& ptr) {
  try {
    auto& v = doc.at(nlohmann::json::json_pointer(ptr));
    if (v.is_number_unsigned())
      return v.get<uint64_t>();
    if (v.is_number_integer())
      return static_cast<uint64_t>(std::max<int64_t>(0, v.get<int64_t>()));
    if (v.is_number_float())
      return static_cast<uint64_t>(std::max(0.0, v.get<double>()));
    if (v.is_string())
      return std::stoull(v.get<std::string>());
    if (v.is_array() || v.is_object())
      return v.size();
    if (v.is_boolean())
      return v.get<bool>() ? 1 : 0;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::string http_json::text_at(const nlohmann::json& doc, const std::string& ptr) {
  try {
    auto& v = doc.at(nlohmann::json::json_pointer(ptr));
    return v.is_string() ? v.get<std::string>() : v.dump();
  } catch (const std::exception&) {
    return {};
  }
}

// -- constructors -----------------------------------------------------------------

http_json::http_json(const nlohmann::json& settings, std::string node_id,
                     std::chrono::milliseconds timeout, const std::string& where)
  : node_(std::move(node_id)) {
  std::vector<validation_error> errors;
  params_reader r{settings, where, errors};
  r.allow({"kind"});
  auto url = r.string("url", "", true);
  auto read_headers = [&](params_reader& pr, std::map<std::string, std::string>& out) {
    if (auto h = pr.raw("headers")) {
      if (!h->is_object()) {
        pr.error("headers", "must be an object of strings, got " + describe_json(*h));
        return;
      }
      for (auto it = h->begin(); it != h->end(); ++it)
        out[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    }
  };
  read_headers(r, headers_);
  std::string user, password;
  if (auto a = r.raw("auth")) {
    params_reader ar{*a, r.path_of("auth"), errors};
    user = ar.string("user", "", true);
    password = ar.string("password", "");
    ar.finish();
  }
  for (auto name : {"status", "peers", "mempool", "submit", "produce"}) {
    auto v = r.raw(name);
    if (!v) {
      if (std::string(name) == "status")
        r.error(name, "is required: the request that gives the node's height and tip");
      continue;
    }
    params_reader vr{*v, r.path_of(name), errors};
    verb vb;
    vb.method = vr.one_of("method", {"GET", "POST", "PUT"}, "GET");
    vb.path = vr.string("path", "/", true);
    vb.body = vr.string("body", "");
    read_headers(vr, vb.headers);
    for (auto p : {"height", "tip", "peers", "mempool", "id"}) {
      auto ptr = vr.string(p, "");
      if (!ptr.empty() && ptr[0] != '/')
        vr.error(p, "must be a JSON pointer starting with /, got " + echo(ptr));
      else if (!ptr.empty())
        vb.pointers[p] = ptr;
    }
    vr.finish();
    verbs_[name] = vb;
  }
  r.finish();
  if (!errors.empty())
    throw validation_failed(std::move(errors));
  const auto u = parse_http_url(url, where + ".url");
  base_path_ = u.path;
  http_ = std::make_unique<httplib::Client>(u.host, u.port);
  if (!user.empty())
    http_->set_basic_auth(user, password);
  http_->set_keep_alive(true);
  http_->set_connection_timeout(timeout);
  http_->set_read_timeout(timeout);
  http_->set_write_timeout(timeout);
}

http_json::~http_json() = default;

// -- requests ---------------------------------------------------------------------

nlohmann::json http_json::request(const std::string& name, const verb& v, const std::string& body) {
  httplib::Headers headers;
  for (auto& kv : headers_)
    headers.emplace(kv.first, kv.second);
  for (auto& kv : v.headers)
    headers.emplace(kv.first, kv.second);
  auto path = base_path_ + v.path;
  auto type = std::string("application/json");
  httplib::Result res = v.method == "GET" ? http_->Get(path.c_str(), headers)
                        : v.method == "PUT"
                          ? http_->Put(path.c_str(), headers, body, type.c_str())
                          : http_->Post(path.c_str(), headers, body, type.c_str());
  if (!res)
    throw rpc_error("request " + name + " (" + v.method + " " + path + ") to " + node_ +
                    " failed: " + httplib::to_string(res.error()));
  if (res->status < 200 || res->status >= 300)
    throw rpc_error("request " + name + " (" + v.method + " " + path + ") to " + node_ +
                    " failed: HTTP " + std::to_string(res->status) + " " +
                    (res->body.size() > 120 ? res->body.substr(0, 120) : res->body));
  try {
    return res->body.empty() ? nlohmann::json::object() : nlohmann::json::parse(res->body);
  } catch (const nlohmann::json::exception&) {
    throw rpc_error("request " + name + " to " + node_ + " failed: the reply is not JSON");
  }
}

// -- adapter ----------------------------------------------------------------------

node_status http_json::status() {
  node_status st;
  st.id = node_;
  st.up = true;
  auto fill = [&](const nlohmann::json& doc, const verb& v) {
    for (auto& [what, ptr] : v.pointers) {
      if (what == "tip") {
        st.tip = text_at(doc, ptr);
        continue;
      }
      auto n = number_at(doc, ptr);
      if (!n)
        continue;
      if (what == "height")
        st.height = *n;
      else if (what == "peers")
        st.peers = static_cast<uint32_t>(*n);
      else if (what == "mempool")
        st.mempool = static_cast<uint32_t>(*n);
    }
  };
  for (auto name : {"status", "peers", "mempool"}) {
    auto it = verbs_.find(name);
    if (it != verbs_.end())
      fill(request(name, it->second, it->second.body), it->second);
  }
  if (st.tip.empty())
    st.tip = std::to_string(st.height);
  return st;
}

block_info http_json::block_at(uint64_t height) {
  (void) height;
  throw rpc_error("the http-json adapter of " + node_ + " has no block lookup");
}

submit_result http_json::submit(const transaction& tx, const std::string& to) {
  (void) to;
  submit_result r;
  auto it = verbs_.find("submit");
  if (it == verbs_.end()) {
    r.reason = "this program's http-json adapter has no submit request";
    return r;
  }
  auto value = tx.from + "->" + tx.to + ":" + std::to_string(tx.amount);
  std::map<std::string, std::string> vars{{"tx.id", tx.id},
                                          {"tx.from", tx.from},
                                          {"tx.to", tx.to},
                                          {"tx.amount", std::to_string(tx.amount)},
                                          {"tx.bytes", std::to_string(tx.bytes)},
                                          {"tx.id_base64", base64(tx.id)},
                                          {"tx.value_base64", base64(value)}};
  std::string body;
  auto& tmpl = it->second.body;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    bool replaced = false;
    if (tmpl[i] == '{')
      for (auto& [k, v] : vars)
        if (tmpl.compare(i + 1, k.size(), k) == 0 && i + 1 + k.size() < tmpl.size() &&
            tmpl[i + 1 + k.size()] == '}') {
          body += v;
          i += k.size() + 1;
          replaced = true;
          break;
        }
    if (!replaced)
      body += tmpl[i];
  }
  try {
    auto doc = request("submit", it->second, body);
    r.accepted = true;
    auto& ptrs = it->second.pointers;
    if (auto p = ptrs.find("height"); p != ptrs.end())
      r.height = number_at(doc, p->second);
    if (auto p = ptrs.find("id"); p != ptrs.end())
      r.real_id = text_at(doc, p->second);
  } catch (const rpc_error& e) {
    r.reason = e.what();
  }
  return r;
}

std::string http_json::produce_block(const std::string& reward_address) {
  (void) reward_address;
  auto it = verbs_.find("produce");
  if (it == verbs_.end())
    throw rpc_error("the http-json adapter of " + node_ + " has no produce request");
  auto doc = request("produce", it->second, it->second.body);
  auto p = it->second.pointers.find("tip");
  return p == it->second.pointers.end() ? std::string{} : text_at(doc, p->second);
}

// -- factory ----------------------------------------------------------------------

adapter_ptr make_adapter(const nlohmann::json& settings, const std::string& node_id,
                         std::chrono::milliseconds timeout, const std::string& where) {
  auto kind = settings.value("kind", std::string{});
  if (kind == "bitcoin-rpc")
    return std::make_unique<bitcoin_rpc>(settings, node_id, timeout, where);
  if (kind == "http-json")
    return std::make_unique<http_json>(settings, node_id, timeout, where);
  throw user_error(where + ".kind: must be bitcoin-rpc or http-json, got " + echo(kind));
}

} // namespace troupe::backends::adapters
