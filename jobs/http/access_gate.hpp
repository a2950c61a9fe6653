#pragma once
// Who may change what: bearer tokens with scopes, kept in the store as SHA-256 digests, and
// the content types a state-changing request must declare. The gate answers a request before
// any face sees it: 401 (no or unknown token), 403 (a worker token on an admin route), 415
// (a body that is not declared JSON, which is what a cross-site form post from a browser
// sends). Reads (GET, HEAD) pass; so does everything when the store holds no token (then
// `troupe jobs serve` listens on loopback only, unless told --insecure).

#include "jobs/http/http_types.hpp"
#include "jobs/job.hpp"
#include "jobs/store.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::jobs {

/// `worker`: claim, heartbeat, complete, verify, fail, and the replay hosts' posts.
/// `admin`: also create jobs, retry them, and everything a worker may do.
enum class token_scope : uint8_t { worker, admin };
std::string_view to_string(token_scope s) noexcept;
std::optional<token_scope> token_scope_from_string(std::string_view s) noexcept;

/// SHA-256 of `token`, in lower-case hex.
std::string token_digest(std::string_view token);

/// Makes a new random token (256 bits from OpenSSL's generator), stores its digest with
/// `scope` and returns the token: the only time it exists in clear.
std::string create_token(store& s, token_scope scope, time_ms now);

class access_gate {
public:
  struct stored_token {
    std::string digest;
    token_scope scope;
  };

  // -- constructors -----------------------------------------------------------

  /// Reads the tokens of `s` (null: no tokens). A token unknown to the gate makes it read
  /// them again, at most once a second, so a token created while serving works at once.
  explicit access_gate(store* s);

  // -- checks -----------------------------------------------------------------

  /// nullopt: let the request through; else the answer that refuses it.
  std::optional<http_response> check(const http_request& req, time_ms now);
  /// The store holds at least one token, so every state-changing request needs one.
  bool enforcing() const noexcept { return !tokens_.empty(); }

  // -- counters ---------------------------------------------------------------

  uint64_t refused_unauthenticated() const noexcept { return refused_401_; }
  uint64_t refused_forbidden() const noexcept { return refused_403_; }
  uint64_t refused_media_type() const noexcept { return refused_415_; }

private:
  void reload(time_ms now);
  std::optional<token_scope> scope_of(const std::string& token, time_ms now);

  store* store_;
  std::vector<stored_token> tokens_;
  time_ms reloaded_ms_ = 0;
  uint64_t refused_401_ = 0, refused_403_ = 0, refused_415_ = 0;
};

} // namespace troupe::jobs
