#include "backends/agent/protocol.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>

#include "actors/errors.hpp"
#include "actors/json_read.hpp"

namespace troupe::backends::agent {

using nlohmann::json;

// -- framing --------------------------------------------------------------------

std::string encode_frame(const json& msg) {
  auto body = msg.dump();
  if (body.size() > frame_bytes_max)
    throw protocol_error("an agent protocol frame of " + std::to_string(body.size()) +
                         " bytes is over the " + std::to_string(frame_bytes_max) +
                         "-byte frame limit");
  const auto n = static_cast<uint32_t>(body.size());
  std::string out;
  out.reserve(frame_header_bytes + body.size());
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out += body;
  return out;
}

void frame_reader::feed(const char* data, size_t n) {
  // Consumed bytes are dropped once they are most of the buffer: appends stay amortised O(1).
  if (start_ > 0 && start_ >= buffer_.size() / 2) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(data, n);
}

std::optional<json> frame_reader::next() {
  if (pending_bytes() < frame_header_bytes)
    return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + start_);
  const uint32_t n =
    (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  if (n > frame_bytes_max)
    throw protocol_error("the peer sent an agent protocol frame of " + std::to_string(n) +
                         " bytes, over the " + std::to_string(frame_bytes_max) +
                         "-byte frame limit");
  if (pending_bytes() < frame_header_bytes + n)
    return std::nullopt;
  std::string_view body{buffer_.data() + start_ + frame_header_bytes, n};
  start_ += frame_header_bytes + n;
  last_frame_bytes_ = frame_header_bytes + n;
  json msg;
  try {
    msg = parse_json_bounded(body, "agent protocol frame");
  } catch (const user_error& e) {
    throw protocol_error(e.what());
  }
  if (!msg.is_object())
    throw protocol_error("an agent protocol frame holds " + std::string(msg.type_name()) +
                         ", not a JSON object");
  return msg;
}

bool write_all(int fd, std::string_view bytes) {
  bool socket = true;
  while (!bytes.empty()) {
    ssize_t w = socket ? ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) : -1;
    if (w < 0 && socket && errno == ENOTSOCK) {
      socket = false; // a pipe: the agent process ignores SIGPIPE
      continue;
    }
    if (!socket)
      w = ::write(fd, bytes.data(), bytes.size());
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    bytes.remove_prefix(static_cast<size_t>(w));
  }
  return true;
}

bool read_some(int fd, frame_reader& r) {
  char buf[65536];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    r.feed(buf, static_cast<size_t>(n));
    return true;
  }
}

std::optional<json> read_frame(int fd, frame_reader& r) {
  for (;;) {
    if (auto msg = r.next())
      return msg;
    if (!read_some(fd, r)) {
      if (r.pending_bytes() > 0)
        throw protocol_error("the agent protocol stream ended in the middle of a frame (" +
                             std::to_string(r.pending_bytes()) + " bytes of it received)");
      return std::nullopt;
    }
  }
}

namespace {

/// Reads exactly `n` bytes into `out`: the count read (short at EOF, on a timeout or an error).
size_t read_exact(int fd, char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    auto r = ::read(fd, out + got, n - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += static_cast<size_t>(r);
  }
  return got;
}

} // namespace

void set_receive_timeout(int fd, std::chrono::milliseconds t) {
  timeval tv{static_cast<time_t>(t.count() / 1000),
             static_cast<suseconds_t>(t.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

std::optional<json> read_frame_exact(int fd, uint32_t bytes_max) {
  char header[frame_header_bytes];
  const auto got = read_exact(fd, header, sizeof header);
  if (got == 0)
    return std::nullopt;
  if (got < sizeof header)
    throw protocol_error("the stream ended inside a frame's length");
  uint32_t n = 0;
  for (char c : header)
    n = (n << 8) | static_cast<unsigned char>(c);
  if (n > bytes_max)
    throw protocol_error("a frame of " + std::to_string(n) + " bytes is over this stream's " +
                         std::to_string(bytes_max) + "-byte limit");
  std::string bytes(header, sizeof header);
  bytes.resize(sizeof header + n);
  if (read_exact(fd, bytes.data() + sizeof header, n) < n)
    throw protocol_error("the stream ended inside a frame (" + std::to_string(n) + " bytes long)");
  frame_reader r;
  r.feed(bytes.data(), bytes.size());
  return r.next();
}

// -- messages -------------------------------------------------------------------

json hello_message() {
  return {{"type", "hello"}, {"protocol", protocol_name}, {"version", protocol_version}};
}

namespace {

/// msg[key] when it is a string, else `fallback` (a hello is judged, never thrown at).
std::string string_or(const json& msg, const char* key, std::string fallback) {
  auto it = msg.find(key);
  return it != msg.end() && it->is_string() ? it->get<std::string>() : fallback;
}

} // namespace

std::string check_hello(const json& msg, const std::string& peer) {
  if (type_of(msg) == "error")
    return peer + " refused the connection: " + string_or(msg, "reason", "no reason");
  if (type_of(msg) != "hello" || string_or(msg, "protocol", "") != protocol_name)
    return peer + " does not speak the " + std::string(protocol_name) +
           " protocol (its first frame is not a hello)";
  auto v = msg.find("version");
  if (v == msg.end() || !v->is_number_integer())
    return peer + " sent a hello without an integer version";
  if (v->get<int64_t>() != protocol_version)
    return peer + " speaks " + std::string(protocol_name) + " protocol version " +
           std::to_string(v->get<int64_t>()) + ", this troupe speaks version " +
           std::to_string(protocol_version) + ": use the same troupe build on both sides";
  return {};
}

json request_message(uint64_t id, const std::string& op, json args) {
  return {{"type", "request"}, {"id", id}, {"op", op}, {"args", std::move(args)}};
}

json reply_ok(uint64_t id, json result) {
  return {{"type", "reply"}, {"id", id}, {"ok", true}, {"result", std::move(result)}};
}

json reply_error(uint64_t id, const std::string& reason) {
  return {{"type", "reply"}, {"id", id}, {"ok", false}, {"error", reason}};
}

json event_message(const std::string& event, json fields) {
  json out = fields.is_object() ? std::move(fields) : json::object();
  out["type"] = "event";
  out["event"] = event;
  return out;
}

json error_message(const std::string& reason) { return {{"type", "error"}, {"reason", reason}}; }

std::string type_of(const json& msg) { return string_or(msg, "type", ""); }

} // namespace troupe::backends::agent
