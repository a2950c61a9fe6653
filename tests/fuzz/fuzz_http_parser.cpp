// Fuzz target: the HTTP/1.1 request parser of the event-driven server, on any bytes. The
// bytes are parsed twice, whole and cut in two at a point the input chooses (as TCP may
// deliver them), and both must give the same requests, in the same order, and end the same
// way; every request must respect the limits. Seeds: requests of tests/jobs/.

#include "jobs/http/http_parser.hpp"
#include "tests/fuzz/fuzz_target.hpp"

#include <string>
#include <vector>

namespace {

using troupe::fuzz::check;
using troupe::jobs::request_parser;

troupe::jobs::http_limits small_limits() {
  troupe::jobs::http_limits l;
  l.header_bytes_max = 4096;
  l.headers_max = 20;
  l.body_bytes_max = 8192;
  return l;
}

/// Every request (or the error) the parser makes of `pieces`, fed in order, as text.
std::vector<std::string> parse_all(const std::vector<std::string_view>& pieces,
                                   uint64_t allowance) {
  const auto limits = small_limits();
  request_parser p(limits);
  std::vector<std::string> out;
  std::string buf;
  for (const auto piece : pieces) {
    buf.append(piece);
    for (int guard = 0; guard < 10'000; ++guard) {
      p.set_body_allowance(allowance);
      size_t used = 0;
      const auto r = p.parse(buf.data(), buf.size(), used);
      check(used <= buf.size(), "used <= size");
      buf.erase(0, used);
      if (r == request_parser::result::error) {
        check(p.error_status() >= 400 && p.error_status() <= 599, "an error status");
        check(!p.error_text().empty(), "an error reason");
        check(!p.keep_alive(), "no keep-alive after an error");
        out.push_back("error " + std::to_string(p.error_status()));
        return out;
      }
      check(p.held_bytes() <= limits.header_bytes_max + limits.body_bytes_max,
            "held bytes within the limits");
      check(p.over_budget() || allowance == UINT64_MAX ||
              p.held_bytes() <= limits.header_bytes_max + allowance,
            "a body within its allowance, or dropped");
      if (r == request_parser::result::incomplete)
        break;
      const auto& q = p.request();
      check(!q.method.empty(), "a method");
      check(q.body.size() <= limits.body_bytes_max, "body within body_bytes_max");
      check(q.headers.size() <= limits.headers_max, "headers within headers_max");
      check(!p.over_budget() || q.body.empty(), "a dropped body is not kept");
      std::string s = q.method + ' ' + q.path + ' ' + std::to_string(q.params.size()) + ' ' +
                      std::to_string(q.headers.size()) + ' ' + q.body +
                      (p.keep_alive() ? " keep" : " close") + (p.over_budget() ? " dropped" : "");
      out.push_back(std::move(s));
      p.reset();
    }
  }
  out.push_back(buf.empty() ? "end" : "partial");
  return out;
}

} // namespace

TROUPE_FUZZ_TARGET(http_parser) {
  if (size < 2)
    return 0;
  // The first byte picks the cut, the second the body allowance; the rest is the wire.
  const std::string_view wire(reinterpret_cast<const char*>(data) + 2, size - 2);
  const size_t cut = wire.size() * data[0] / 255;
  const uint64_t allowance = data[1] < 128 ? UINT64_MAX : static_cast<uint64_t>(data[1]) * 32;
  const auto whole = parse_all({wire}, allowance);
  const auto split = parse_all({wire.substr(0, cut), wire.substr(cut)}, allowance);
  // A request cut in two parses the same; only "partial" vs "end" of a trailing incomplete
  // request may differ in how much was consumed, which the texts do not show.
  check(whole == split, "the same requests whatever the split");
  return 0;
}
