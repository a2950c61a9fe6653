#include "jobs/http/http_parser.hpp"

#include <cstring>
#include <strings.h>

namespace troupe::jobs {

namespace {

// A chunk-size line or the CRLF after a chunk is short; anything longer is not HTTP.
constexpr size_t chunk_line_max = 1024;
// Body buffers up to this size are kept between requests (for their capacity); bigger ones
// are freed.
constexpr size_t body_capacity_kept = 64 * 1024;

bool is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

bool is_token(std::string_view s) {
  if (s.empty())
    return false;
  for (unsigned char c : s)
    if (!is_tchar(c))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

/// Calls `f` with each trimmed, non-empty element of a comma-separated header value.
template <class F> void each_token(std::string_view v, F&& f) {
  while (!v.empty()) {
    const auto comma = v.find(',');
    const auto item = trim(v.substr(0, comma));
    if (!item.empty())
      f(item);
    if (comma == std::string_view::npos)
      break;
    v.remove_prefix(comma + 1);
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// Finds the next line in data[pos, n); the line excludes its "\n" (and "\r").
bool next_line(const char* data, size_t n, size_t& pos, std::string_view& line) {
  const void* nl = std::memchr(data + pos, '\n', n - pos);
  if (!nl)
    return false;
  const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - data);
  line = std::string_view(data + pos, end - pos);
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  pos = end + 1;
  return true;
}

} // namespace

std::string url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

void parse_query(std::string_view q, std::vector<std::pair<std::string, std::string>>& out) {
  while (!q.empty()) {
    const auto amp = q.find('&');
    const auto item = q.substr(0, amp);
    if (!item.empty()) {
      const auto eq = item.find('=');
      if (eq == std::string_view::npos)
        out.emplace_back(url_decode(item, true), std::string());
      else
        out.emplace_back(url_decode(item.substr(0, eq), true),
                         url_decode(item.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos)
      break;
    q.remove_prefix(amp + 1);
  }
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 417:
      return "Expectation Failed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

void request_parser::reset() {
  req_.method.clear();
  req_.path.clear();
  req_.params.clear();
  req_.headers.clear();
  // A big body's buffer is given back, so an idle keep-alive connection holds no more than
  // a small request's worth (the server's memory bound counts on it).
  if (req_.body.capacity() > body_capacity_kept)
    std::string().swap(req_.body);
  else
    req_.body.clear();
  // req_.remote is the connection's: kept
  stage_ = stage::start;
  header_bytes_ = 0;
  body_left_ = 0;
  body_total_ = 0;
  body_reserved_ = 0;
  discarding_ = false;
  keep_alive_ = true;
  head_ = false;
  http10_ = false;
  expect_continue_ = false;
  chunked_ = false;
  has_length_ = false;
  error_status_ = 0;
  error_text_.clear();
}

bool request_parser::wants_continue() const noexcept {
  return expect_continue_ && req_.body.empty() &&
         (stage_ == stage::body || stage_ == stage::chunk_size);
}

request_parser::result request_parser::fail(int status, std::string why) {
  error_status_ = status;
  error_text_ = std::move(why);
  keep_alive_ = false;
  return result::error;
}

bool request_parser::request_line(std::string_view line) {
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2) {
    fail(400, "malformed request line (expected METHOD TARGET HTTP/1.1)");
    return false;
  }
  const auto method = line.substr(0, sp1);
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = line.substr(sp2 + 1);
  if (!is_token(method)) {
    fail(400, "malformed request method");
    return false;
  }
  if (version == "HTTP/1.0") {
    http10_ = true;
  } else if (version != "HTTP/1.1") {
    if (version.size() == 8 && version.substr(0, 5) == "HTTP/")
      fail(505, "only HTTP/1.0 and HTTP/1.1 are served");
    else
      fail(400, "malformed request line (expected METHOD TARGET HTTP/1.1)");
    return false;
  }
  for (unsigned char c : target)
    if (c <= 0x20 || c == 0x7f) {
      fail(400, "malformed request target");
      return false;
    }
  // Absolute form (a proxy-style request) names the same resource as its path.
  for (std::string_view scheme : {"http://", "https://"})
    if (target.size() > scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
      const auto slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  if (target.empty() || (target.front() != '/' && target != "*")) {
    fail(400, "malformed request target");
    return false;
  }
  if (const auto hash = target.find('#'); hash != std::string_view::npos)
    target = target.substr(0, hash);
  const auto q = target.find('?');
  req_.path = url_decode(target.substr(0, q), false);
  if (q != std::string_view::npos)
    parse_query(target.substr(q + 1), req_.params);
  // HEAD is answered as GET without the body (cpp-httplib did the same).
  head_ = method == "HEAD";
  req_.method = head_ ? std::string("GET") : std::string(method);
  return true;
}

bool request_parser::header_line(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    fail(400, "folded header lines are not allowed");
    return false;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
    fail(400, "malformed header line");
    return false;
  }
  const auto name = line.substr(0, colon);
  const auto value = trim(line.substr(colon + 1));
  for (unsigned char c : value)
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      fail(400, "control character in a header value");
      return false;
    }
  if (req_.headers.size() >= limits_.headers_max) {
    fail(431, "too many header fields");
    return false;
  }
  if (iequals(name, "Content-Length")) {
    if (value.empty() || value.size() > 18 ||
        value.find_first_not_of("0123456789") != std::string_view::npos) {
      fail(400, "malformed Content-Length");
      return false;
    }
    uint64_t n = 0;
    for (char c : value)
      n = n * 10 + static_cast<uint64_t>(c - '0');
    if (has_length_ && n != body_left_) {
      fail(400, "conflicting Content-Length headers");
      return false;
    }
    has_length_ = true;
    body_left_ = n;
  } else if (iequals(name, "Transfer-Encoding")) {
    bool only_chunked = true;
    int count = 0;
    each_token(value, [&](std::string_view t) {
      ++count;
      only_chunked = only_chunked && iequals(t, "chunked");
    });
    if (!only_chunked || count != 1 || chunked_) {
      fail(501, "only Transfer-Encoding: chunked is supported");
      return false;
    }
    chunked_ = true;
  } else if (iequals(name, "Expect")) {
    if (!iequals(value, "100-continue")) {
      fail(417, "only Expect: 100-continue is supported");
      return false;
    }
    expect_continue_ = !http10_;
  }
  req_.headers.emplace_back(std::string(name), std::string(value));
  return true;
}

bool request_parser::end_of_headers() {
  bool close = false, keep = false;
  for (const auto& [name, value] : req_.headers)
    if (iequals(name, "Connection"))
      each_token(value, [&](std::string_view t) {
        close = close || iequals(t, "close");
        keep = keep || iequals(t, "keep-alive");
      });
  keep_alive_ = http10_ ? keep && !close : !close;
  if (chunked_ && has_length_) {
    // Two framings disagreeing is how requests get smuggled past proxies: refuse.
    fail(400, "both Content-Length and Transfer-Encoding");
    return false;
  }
  if (chunked_) {
    stage_ = stage::chunk_size;
    return true;
  }
  if (body_left_ > limits_.body_bytes_max) {
    fail(413, "request body of " + std::to_string(body_left_) + " bytes is over the limit of " +
                std::to_string(limits_.body_bytes_max));
    return false;
  }
  body_total_ = body_left_;
  if (body_left_ > body_allowance_) {
    discarding_ = true; // read to its end and dropped: the caller answers 503
  } else if (body_left_ > 0) {
    body_reserved_ = body_left_;
    req_.body.reserve(static_cast<size_t>(body_left_));
  }
  stage_ = body_left_ > 0 ? stage::body : stage::done;
  return true;
}

request_parser::result request_parser::parse(const char* data, size_t n, size_t& used) {
  size_t pos = 0;
  used = 0;
  for (;;) {
    std::string_view line;
    switch (stage_) {
      case stage::start:
      case stage::headers:
      case stage::trailers: {
        const size_t before = pos;
        if (!next_line(data, n, pos, line)) {
          used = pos;
          if (header_bytes_ + (n - pos) > limits_.header_bytes_max)
            return fail(431, "request header block over " +
                               std::to_string(limits_.header_bytes_max) + " bytes");
          return result::incomplete;
        }
        header_bytes_ += pos - before;
        if (header_bytes_ > limits_.header_bytes_max)
          return fail(431, "request header block over " + std::to_string(limits_.header_bytes_max) +
                             " bytes");
        if (stage_ == stage::start) {
          if (line.empty())
            continue; // blank lines before a request are allowed (RFC 9112, 2.2)
          if (!request_line(line))
            return result::error;
          stage_ = stage::headers;
        } else if (stage_ == stage::headers) {
          if (line.empty()) {
            if (!end_of_headers())
              return result::error;
          } else if (!header_line(line)) {
            return result::error;
          }
        } else if (line.empty()) {
          stage_ = stage::done; // trailer fields are read and dropped
        }
        continue;
      }
      case stage::body:
      case stage::chunk_data: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(body_left_, n - pos));
        if (!discarding_)
          req_.body.append(data + pos, take);
        pos += take;
        body_left_ -= take;
        if (body_left_ > 0) {
          used = pos;
          return result::incomplete;
        }
        stage_ = stage_ == stage::body ? stage::done : stage::chunk_crlf;
        continue;
      }
      case stage::chunk_size:
      case stage::chunk_crlf: {
        // The same limit on a line cut by the network and on a whole one (the bytes before
        // its '\n'), so that where TCP splits a request never changes how it parses.
        const size_t line_start = pos;
        if (!next_line(data, n, pos, line)) {
          used = pos;
          if (n - pos > chunk_line_max)
            return fail(400, "malformed chunked body");
          return result::incomplete;
        }
        if (pos - 1 - line_start > chunk_line_max)
          return fail(400, "malformed chunked body");
        if (stage_ == stage::chunk_crlf) {
          if (!line.empty())
            return fail(400, "malformed chunked body (no CRLF after a chunk)");
          stage_ = stage::chunk_size;
          continue;
        }
        line = trim(line.substr(0, line.find(';'))); // chunk extensions are ignored
        if (line.empty() || line.size() > 15)
          return fail(400, "malformed chunk size");
        uint64_t size = 0;
        for (char c : line) {
          const int v = hex_value(c);
          if (v < 0)
            return fail(400, "malformed chunk size");
          size = size * 16 + static_cast<uint64_t>(v);
        }
        if (size == 0) {
          stage_ = stage::trailers;
          continue;
        }
        if (body_total_ + size > limits_.body_bytes_max)
          return fail(413, "request body over the limit of " +
                             std::to_string(limits_.body_bytes_max) + " bytes");
        body_total_ += size;
        if (!discarding_ && body_reserved_ + size > body_allowance_) {
          discarding_ = true; // what was kept goes too: the request is refused whole
          body_reserved_ = 0;
          std::string().swap(req_.body);
        } else if (!discarding_) {
          body_reserved_ += size;
        }
        body_left_ = size;
        stage_ = stage::chunk_data;
        continue;
      }
      case stage::done:
        used = pos;
        return result::complete;
    }
  }
}

} // namespace troupe::jobs
