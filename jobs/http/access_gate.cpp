#include "jobs/http/access_gate.hpp"

#include "actors/errors.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>

namespace troupe::jobs {

namespace {

std::string hex(const unsigned char* p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

bool changes_state(const http_request& r) { return r.method != "GET" && r.method != "HEAD"; }

/// The scope a state-changing request needs: creating and retrying jobs is admin work.
token_scope needed_scope(const http_request& r) {
  const std::string& p = r.path;
  if (p == "/v1/jobs" || p.rfind("/v1/pipelines/", 0) == 0)
    return token_scope::admin;
  constexpr std::string_view retry = "/retry";
  if (p.rfind("/v1/jobs/", 0) == 0 && p.size() > retry.size() &&
      p.compare(p.size() - retry.size(), retry.size(), retry) == 0)
    return token_scope::admin;
  return token_scope::worker;
}

/// The media type of the request body, lower case, without parameters.
std::string media_type(const http_request& r) {
  std::string t = r.header("Content-Type").value_or("");
  t = t.substr(0, t.find(';'));
  std::string out;
  for (char c : t)
    if (c != ' ' && c != '\t')
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// A browser posts text/plain, form and multipart bodies to any site without asking it
/// first; it must ask (a CORS preflight, which this server never grants) for JSON. So a
/// state-changing request must declare JSON. The replay face keeps taking text/plain, which
/// its hosts may send: POST /job also needs the job's ETag header, which a browser cannot
/// send without that preflight; POST /config does not (with tokens it needs one).
bool media_type_allowed(const http_request& r) {
  const auto t = media_type(r);
  return t == "application/json" ||
         (t == "text/plain" && r.path.rfind("/v1/", 0) != 0 && !r.path.empty());
}

http_response refusal(const http_request& r, int status, const std::string& why) {
  http_response out;
  out.status = status;
  if (r.path.rfind("/v1/", 0) == 0) {
    out.content_type = "application/json";
    out.body = "{\"error\":\"" + why + "\"}"; // `why` is ours: no quotes or backslashes
  } else {
    out.body = why;
  }
  if (status == 401)
    out.headers.emplace_back("WWW-Authenticate", "Bearer");
  return out;
}

/// The token a request carries: `Authorization: Bearer T`, or for the replay face (whose
/// hosts cannot add headers) `?token=T` in the URL.
std::optional<std::string> token_of(const http_request& r) {
  if (auto a = r.header("Authorization")) {
    constexpr std::string_view bearer = "Bearer ";
    if (a->size() > bearer.size() && a->compare(0, bearer.size(), bearer) == 0)
      return a->substr(bearer.size());
    return std::string(); // present but not a bearer token: refused as unknown
  }
  if (r.path.rfind("/v1/", 0) != 0)
    return r.param("token");
  return std::nullopt;
}

} // namespace

std::string_view to_string(token_scope s) noexcept {
  return s == token_scope::admin ? "admin" : "worker";
}

std::optional<token_scope> token_scope_from_string(std::string_view s) noexcept {
  if (s == "worker")
    return token_scope::worker;
  if (s == "admin")
    return token_scope::admin;
  return std::nullopt;
}

std::string token_digest(std::string_view token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(token.data(), token.size(), md, &n, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL SHA-256 failed");
  return hex(md, n);
}

std::string create_token(store& s, token_scope scope, time_ms now) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1)
    throw user_error("cannot make a token: OpenSSL's random generator failed");
  std::string token = "trp_" + hex(raw, sizeof raw);
  s.add_token(token_digest(token), std::string(to_string(scope)), now);
  return token;
}

access_gate::access_gate(store* s)
  : store_(s) {
  reload(0);
}

void access_gate::reload(time_ms now) {
  reloaded_ms_ = now;
  if (!store_)
    return;
  tokens_.clear();
  for (auto& [digest, scope] : store_->tokens())
    if (auto sc = token_scope_from_string(scope))
      tokens_.push_back({digest, *sc});
}

std::optional<token_scope> access_gate::scope_of(const std::string& token, time_ms now) {
  for (int pass = 0; pass < 2; ++pass) {
    const auto d = token_digest(token);
    // Every stored digest is compared, each in constant time: the answer's timing says
    // nothing about how much of a guess was right.
    std::optional<token_scope> found;
    for (const auto& t : tokens_)
      if (t.digest.size() == d.size() && CRYPTO_memcmp(t.digest.data(), d.data(), d.size()) == 0)
        found = t.scope;
    if (found || pass == 1 || now - reloaded_ms_ < 1000)
      return found;
    reload(now);
  }
  return std::nullopt;
}

std::optional<http_response> access_gate::check(const http_request& req, time_ms now) {
  if (!changes_state(req))
    return std::nullopt;
  if (!tokens_.empty() ||
      (store_ && now - reloaded_ms_ >= 1000 && (reload(now), !tokens_.empty()))) {
    const auto token = token_of(req);
    if (!token || token->empty()) {
      ++refused_401_;
      return refusal(req, 401,
                     "this server requires a token: send Authorization: Bearer TOKEN (replay "
                     "hosts: ?token=TOKEN); make one with troupe jobs token create");
    }
    const auto scope = scope_of(*token, now);
    if (!scope) {
      ++refused_401_;
      return refusal(req, 401, "the token is not known to this server");
    }
    if (needed_scope(req) == token_scope::admin && *scope != token_scope::admin) {
      ++refused_403_;
      return refusal(req, 403, "this request needs a token of scope admin, not worker");
    }
  }
  if (!media_type_allowed(req)) {
    ++refused_415_;
    return refusal(req, 415,
                   "a request that changes state must declare Content-Type: application/json");
  }
  return std::nullopt;
}

} // namespace troupe::jobs
