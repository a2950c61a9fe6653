#pragma once
// The agent protocol: how an orchestrator (troupe) and a `troupe agent` talk over one byte
// stream (a pipe pair, a socketpair, the stdio of an SSH session, a TCP connection).
// docs/agent-protocol.md describes every message; this header is its one implementation.
//
//   frame    4-byte big-endian length, then that many bytes of one JSON object (UTF-8).
//            A frame over frame_bytes_max is refused before it is read: the stream is then
//            out of step, so the reader fails and the connection ends.
//   hello    the first frame each way: {"type": "hello", "protocol": "troupe-agent",
//            "version": N}. The orchestrator speaks first; a version the agent does not speak
//            is answered by {"type": "error", "reason": ...} and the end of the stream.
//   request  {"type": "request", "id": N, "op": "...", "args": {...}} (orchestrator -> agent)
//   reply    {"type": "reply", "id": N, "ok": true, "result": {...}} or
//            {"type": "reply", "id": N, "ok": false, "error": "one sentence"}
//   event    {"type": "event", "event": "...", ...} (agent -> orchestrator, unsolicited)
//
// Versioning: `version` grows by one when a message changes meaning or a field is removed or
// renamed; adding an op, an event or an optional field keeps it (receivers ignore fields
// they do not know, and an unknown op is answered by an error reply naming it).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace troupe::backends::agent {

// -- constants ------------------------------------------------------------------

inline constexpr const char* protocol_name = "troupe-agent";
inline constexpr int64_t protocol_version = 1;
/// Bytes of one frame's JSON: the largest message (fabric stats of a few thousand links) is
/// well under 1 MiB; 4 MiB bounds what a confused peer can make us allocate.
inline constexpr uint32_t frame_bytes_max = 4u << 20;
inline constexpr size_t frame_header_bytes = 4;

/// The stream broke: a frame too large, not JSON, not an object, or a peer that spoke out
/// of turn. One sentence; the connection cannot continue after it.
class protocol_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// -- framing --------------------------------------------------------------------

/// The bytes of one frame carrying `msg` (throws protocol_error when over the limit).
std::string encode_frame(const nlohmann::json& msg);

/// Reassembles frames from a byte stream that arrives in arbitrary pieces.
class frame_reader {
public:
  /// Appends bytes read from the stream.
  void feed(const char* data, size_t n);
  /// The next whole frame, parsed (bounded reader: depth and size limits); nothing when more
  /// bytes are needed. Throws protocol_error for an oversized or malformed frame.
  std::optional<nlohmann::json> next();
  /// Bytes received but not yet returned as a frame (EOF in the middle of a frame).
  size_t pending_bytes() const noexcept { return buffer_.size() - start_; }
  /// The bytes of the frame next() returned last, its length header included.
  size_t last_frame_bytes() const noexcept { return last_frame_bytes_; }

private:
  std::string buffer_;
  size_t start_ = 0;
  size_t last_frame_bytes_ = 0;
};

/// Writes every byte to `fd` (socket or pipe; never raises SIGPIPE on a socket). False when
/// the peer is gone.
bool write_all(int fd, std::string_view bytes);

/// Reads from `fd` into `r` once (blocking). False at EOF or on a read error.
bool read_some(int fd, frame_reader& r);

/// Blocks until a whole frame arrives on `fd`; nothing at EOF (throws protocol_error for a
/// bad frame, or for EOF in the middle of one).
std::optional<nlohmann::json> read_frame(int fd, frame_reader& r);

/// Reads one frame from `fd` and not a byte beyond it (a reverse tunnel's stream carries raw
/// bytes after its frames): blocks until it has arrived; nothing at EOF or when the socket's
/// receive timeout ran out first. Throws protocol_error for a bad frame, an EOF inside it, or
/// one over `bytes_max`.
std::optional<nlohmann::json> read_frame_exact(int fd, uint32_t bytes_max = frame_bytes_max);
/// Bounds each blocking read of socket `fd` (read_frame_exact's wait) to `t`; 0: unbounded.
void set_receive_timeout(int fd, std::chrono::milliseconds t);

// -- messages -------------------------------------------------------------------

nlohmann::json hello_message();
/// Checks a peer's hello: "" when it speaks our protocol and version, else one sentence.
std::string check_hello(const nlohmann::json& msg, const std::string& peer);

nlohmann::json request_message(uint64_t id, const std::string& op, nlohmann::json args);
nlohmann::json reply_ok(uint64_t id, nlohmann::json result = nlohmann::json::object());
nlohmann::json reply_error(uint64_t id, const std::string& reason);
nlohmann::json event_message(const std::string& event, nlohmann::json fields);
nlohmann::json error_message(const std::string& reason);

/// The message's "type" ("" when absent or not a string).
std::string type_of(const nlohmann::json& msg);

// -- reading a peer's fields ----------------------------------------------------

/// `j[key]`, converted; a missing or mistyped field (or `j` not an object) is a
/// protocol_error naming it. Every field a peer sent is read through this or field_or: a
/// peer's wrong type is one sentence, never a json::type_error escaping the connection.
template <class T> T field(const nlohmann::json& j, const char* key) {
  if (!j.is_object())
    throw protocol_error(std::string("expected an object holding \"") + key + "\", got " +
                         j.type_name());
  auto it = j.find(key);
  if (it == j.end())
    throw protocol_error(std::string("field \"") + key + "\" is missing");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw protocol_error(std::string("field \"") + key + "\" has the wrong type (" +
                         it->type_name() + ")");
  }
}

/// field(j, key), or `fallback` when `j` has no `key` (a mistyped one is still an error).
template <class T> T field_or(const nlohmann::json& j, const char* key, T fallback) {
  return j.is_object() && j.contains(key) ? field<T>(j, key) : fallback;
}

} // namespace troupe::backends::agent
