#pragma once
// An incremental HTTP/1.1 request parser for the event-driven server (http_server).
//
// Why our own: the server reads whatever bytes a socket has and must make progress on any
// split of a request (a header cut mid-line, a body spread over many packets) and on several
// requests in one read (pipelining), without a thread per connection blocking on a read.
// The parser consumes complete lines and body bytes as they arrive and keeps its place, so
// no byte is scanned twice however the request is split.
//
// Scope: request line, headers, a Content-Length or chunked body, `Expect: 100-continue`,
// keep-alive rules of HTTP/1.0 and 1.1. Everything malformed is an error with the status to
// answer (400, 413, 431, 501, 505) and a reason; after an error the connection is closed,
// because the request boundary is no longer known.
//
// Memory: the caller grants each body an allowance (its share of the server's budget for
// buffered request bytes). A body that would outgrow it is still parsed to its end, so the
// connection keeps its place in the byte stream, but its bytes are dropped as they arrive
// (over_budget()); the caller answers 503 instead of handling it.

#include "jobs/http/http_types.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::jobs {

struct http_limits {
  size_t header_bytes_max = 64 * 1024; ///< request line + headers; beyond: 431
  size_t headers_max = 100;            ///< header fields; beyond: 431
  size_t body_bytes_max = 64u << 20;   ///< decoded body; beyond: 413
};

class request_parser {
public:
  enum class result { incomplete, complete, error };

  explicit request_parser(http_limits limits = {})
    : limits_(limits) {}

  /// Parses from `data[0, n)`; sets `used` to the bytes consumed (they may be dropped by the
  /// caller). `complete`: request() holds one whole request and the bytes after `used`
  /// belong to the next one (call reset() before parsing them). `incomplete`: every byte
  /// was consumed or must be kept for more input (a partial line is not consumed).
  result parse(const char* data, size_t n, size_t& used);
  void reset();

  http_request& request() noexcept { return req_; }
  /// The connection stays open after this request (HTTP/1.1 unless `Connection: close`;
  /// HTTP/1.0 only with `Connection: keep-alive`).
  bool keep_alive() const noexcept { return keep_alive_; }
  bool head() const noexcept { return head_; }
  bool http10() const noexcept { return http10_; }
  /// The headers are in, they ask for `100 Continue`, and the body has not started.
  bool wants_continue() const noexcept;
  /// Headers seen, body pending: a request is in progress (for read timeouts).
  bool in_progress() const noexcept { return stage_ != stage::start || header_bytes_ > 0; }
  /// The head is complete and the body (or the chunked trailer) is still being read.
  bool in_body() const noexcept { return stage_ != stage::start && stage_ != stage::headers; }

  // -- memory -----------------------------------------------------------------

  /// The bytes the current request's body may still hold (a Content-Length body is weighed
  /// whole when its head ends, a chunked body chunk by chunk). Beyond: over_budget().
  void set_body_allowance(uint64_t bytes) noexcept { body_allowance_ = bytes; }
  /// The current request's body did not fit its allowance: its bytes are being dropped.
  bool over_budget() const noexcept { return discarding_; }
  /// Bytes the current request holds in memory: its head, and the body bytes reserved for
  /// it (a Content-Length body counts whole from the end of its head).
  uint64_t held_bytes() const noexcept { return header_bytes_ + body_reserved_; }
  /// Bytes of the current request's head read so far.
  uint64_t head_bytes() const noexcept { return header_bytes_; }
  /// Bytes the body reserved and has not received yet: reading them costs no more memory.
  /// For a dropped body, the bytes still to come (they are read and forgotten).
  uint64_t body_bytes_expected() const noexcept {
    return stage_ == stage::body || stage_ == stage::chunk_data ? body_left_ : 0;
  }
  int error_status() const noexcept { return error_status_; }
  const std::string& error_text() const noexcept { return error_text_; }

private:
  enum class stage { start, headers, body, chunk_size, chunk_data, chunk_crlf, trailers, done };
  result fail(int status, std::string why);
  bool request_line(std::string_view line);
  bool header_line(std::string_view line);
  bool end_of_headers();

  http_limits limits_;
  http_request req_;
  stage stage_ = stage::start;
  size_t header_bytes_ = 0;
  uint64_t body_left_ = 0;     ///< Content-Length bytes or current chunk bytes still to read
  uint64_t body_total_ = 0;    ///< decoded body bytes announced so far (kept or dropped)
  uint64_t body_reserved_ = 0; ///< body bytes held or reserved (0 while discarding)
  uint64_t body_allowance_ = UINT64_MAX;
  bool discarding_ = false; ///< over the allowance: body bytes are dropped
  bool keep_alive_ = true;
  bool head_ = false;
  bool http10_ = false;
  bool expect_continue_ = false;
  bool chunked_ = false;
  bool has_length_ = false;
  int error_status_ = 0;
  std::string error_text_;
};

/// Percent-decodes `s`; `plus_is_space` for query components (as form encoding and
/// cpp-httplib do). Invalid escapes are kept as they are.
std::string url_decode(std::string_view s, bool plus_is_space);

/// Splits `a=1&b&c=x%20y` into decoded (name, value) pairs, in order.
void parse_query(std::string_view q, std::vector<std::pair<std::string, std::string>>& out);

/// The reason phrase of a status code ("OK", "Not Found", ...).
std::string_view reason_phrase(int status) noexcept;

} // namespace troupe::jobs
