// Fuzz target: the agent protocol's frames as the agent and the orchestrator read them off a
// stream (backends/agent/protocol.hpp), arriving in pieces of every size, and the payloads of
// the ops (backends/agent/payloads.hpp) and the hello read from each frame. The first input
// byte picks the piece size; the rest is the stream. Every frame is a JSON object; every
// problem is a protocol_error (one line), never a crash. Seeds: tests/fuzz/corpus/agent_frames/.

#include "backends/agent/log_counter.hpp"
#include "backends/agent/payloads.hpp"
#include "backends/agent/protocol.hpp"
#include "tests/fuzz/fuzz_target.hpp"

#include <string>

namespace {

using namespace troupe::backends::agent;
using troupe::fuzz::check;

void read_payloads(const nlohmann::json& msg) {
  (void) check_hello(msg, "the peer");
  (void) type_of(msg);
  const auto& args = msg.contains("args") ? msg["args"] : msg;
  for (auto read : {+[](const nlohmann::json& j) { (void) node_spec_from_json(j); },
                    +[](const nlohmann::json& j) { (void) link_change_from_json(j); },
                    +[](const nlohmann::json& j) { (void) link_stats_from_json(j); },
                    +[](const nlohmann::json& j) { (void) log_scan_from_json(j); }}) {
    try {
      read(args);
    } catch (const protocol_error& e) {
      check(std::string(e.what()).find('\n') == std::string::npos, "an error is one line");
    }
  }
}

} // namespace

TROUPE_FUZZ_TARGET(agent_frames) {
  if (size < 1)
    return 0;
  const size_t piece = 1 + data[0] % 64;
  frame_reader r;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  size_t left = size - 1;
  try {
    while (left > 0) {
      const size_t n = left < piece ? left : piece;
      r.feed(bytes, n);
      bytes += n;
      left -= n;
      while (auto msg = r.next()) {
        check(msg->is_object(), "a frame is a JSON object");
        read_payloads(*msg);
        // What was read writes back as a frame of its own.
        (void) encode_frame(*msg);
      }
    }
  } catch (const protocol_error& e) {
    check(std::string(e.what()).find('\n') == std::string::npos, "an error is one line");
  }
  return 0;
}
