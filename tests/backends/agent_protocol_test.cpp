// The agent protocol's framing and hello over a real socketpair: frames that arrive a byte at
// a time, several in one read, oversized and malformed frames, a version mismatch, and EOF.

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "backends/agent/protocol.hpp"

using namespace troupe::backends::agent;
using nlohmann::json;

namespace {

struct socket_pair {
  int fd[2] = {-1, -1};
  socket_pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd), 0); }
  ~socket_pair() {
    for (int f : fd)
      if (f >= 0)
        ::close(f);
  }
  void close_writer() {
    ::close(fd[0]);
    fd[0] = -1;
  }
};

std::string header(uint32_t n) {
  return {static_cast<char>(n >> 24), static_cast<char>((n >> 16) & 0xff),
          static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
}

} // namespace

TEST(agent_protocol, a_frame_is_a_big_endian_length_and_a_json_object) {
  auto bytes = encode_frame(json{{"type", "hello"}});
  EXPECT_EQ(bytes.substr(0, 4), header(16));
  EXPECT_EQ(bytes.substr(4), R"({"type":"hello"})");
}

TEST(agent_protocol, frames_arrive_whole_from_partial_reads) {
  socket_pair s;
  auto a = encode_frame(request_message(1, "start", {{"slot", 0}}));
  auto b = encode_frame(event_message("node_exited", {{"slot", 3}, {"status", "exit code 1"}}));
  auto both = a + b;
  frame_reader r;
  std::vector<json> got;
  // One byte per write and per read: every split of the header and the body is crossed.
  for (char c : both) {
    ASSERT_TRUE(write_all(s.fd[0], std::string_view{&c, 1}));
    ASSERT_TRUE(read_some(s.fd[1], r));
    while (auto m = r.next())
      got.push_back(*m);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]["op"], "start");
  EXPECT_EQ(got[0]["id"], 1);
  EXPECT_EQ(got[1]["event"], "node_exited");
  EXPECT_EQ(got[1]["status"], "exit code 1");
  EXPECT_EQ(r.pending_bytes(), 0u);
}

TEST(agent_protocol, several_frames_in_one_read) {
  socket_pair s;
  std::string all;
  for (uint64_t i = 0; i < 50; ++i)
    all += encode_frame(reply_ok(i, {{"port", 20000 + i}}));
  ASSERT_TRUE(write_all(s.fd[0], all));
  s.close_writer();
  frame_reader r;
  for (uint64_t i = 0; i < 50; ++i) {
    auto m = read_frame(s.fd[1], r);
    ASSERT_TRUE(m);
    EXPECT_EQ((*m)["id"], i);
    EXPECT_TRUE((*m)["ok"].get<bool>());
  }
  EXPECT_FALSE(read_frame(s.fd[1], r)) << "a clean EOF between frames is the end";
}

TEST(agent_protocol, an_oversized_frame_is_refused_before_it_is_read) {
  frame_reader r;
  auto h = header(frame_bytes_max + 1);
  r.feed(h.data(), h.size());
  try {
    r.next();
    FAIL() << "no error";
  } catch (const protocol_error& e) {
    EXPECT_NE(std::string(e.what()).find("frame limit"), std::string::npos) << e.what();
  }
  EXPECT_THROW(encode_frame(json{{"x", std::string(frame_bytes_max, 'a')}}), protocol_error);
}

TEST(agent_protocol, malformed_frames_are_one_sentence) {
  for (std::string body : {std::string("{not json"), std::string("[1,2]"),
                           std::string(200, '[') + std::string(200, ']')}) {
    frame_reader r;
    auto bytes = header(static_cast<uint32_t>(body.size())) + body;
    r.feed(bytes.data(), bytes.size());
    EXPECT_THROW(r.next(), protocol_error) << body.substr(0, 20);
  }
}

TEST(agent_protocol, eof_in_the_middle_of_a_frame_is_an_error) {
  socket_pair s;
  auto bytes = encode_frame(hello_message());
  ASSERT_TRUE(write_all(s.fd[0], bytes.substr(0, bytes.size() - 3)));
  s.close_writer();
  frame_reader r;
  try {
    read_frame(s.fd[1], r);
    FAIL() << "no error";
  } catch (const protocol_error& e) {
    EXPECT_NE(std::string(e.what()).find("middle of a frame"), std::string::npos) << e.what();
  }
}

TEST(agent_protocol, writing_to_a_closed_peer_fails_without_sigpipe) {
  socket_pair s;
  ::close(s.fd[1]);
  s.fd[1] = -1;
  EXPECT_FALSE(write_all(s.fd[0], encode_frame(hello_message())));
}

TEST(agent_protocol, hello_checks_protocol_and_version) {
  EXPECT_EQ(check_hello(hello_message(), "the agent"), "");
  auto old = hello_message();
  old["version"] = protocol_version + 1;
  auto why = check_hello(old, "the agent");
  EXPECT_NE(why.find("protocol version " + std::to_string(protocol_version + 1)), std::string::npos)
    << why;
  EXPECT_NE(why.find("this troupe speaks version " + std::to_string(protocol_version)),
            std::string::npos)
    << why;
  EXPECT_NE(check_hello(json{{"type", "reply"}}, "the agent").find("not a hello"),
            std::string::npos);
  EXPECT_NE(check_hello(error_message("bad token"), "the agent").find("bad token"),
            std::string::npos);
}

// Found by fuzz_agent_frames: a peer's fields of the wrong type are judged or refused in one
// sentence, never a json::type_error that ends the process.
TEST(agent_protocol, mistyped_fields_are_sentences_not_crashes) {
  EXPECT_NE(check_hello(json{{"type", "error"}, {"reason", 5}}, "the agent").find("no reason"),
            std::string::npos);
  EXPECT_NE(check_hello(json{{"type", "hello"}, {"protocol", 1}, {"version", protocol_version}},
                        "the agent")
              .find("does not speak"),
            std::string::npos);
  EXPECT_EQ(type_of(json{{"type", 3}}), "");
  EXPECT_EQ(field_or<std::string>(json::array(), "cwd", "x"), "x");
  try {
    (void) field_or<std::string>(json{{"cwd", 7}}, "cwd", "");
    ADD_FAILURE() << "a number read as a string";
  } catch (const protocol_error& e) {
    EXPECT_NE(std::string(e.what()).find("\"cwd\" has the wrong type (number)"), std::string::npos)
      << e.what();
  }
  EXPECT_THROW((void) field<std::string>(json::array(), "id"), protocol_error);
}

TEST(agent_protocol, replies_carry_the_request_id) {
  auto ok = reply_ok(7, {{"port", 1}});
  EXPECT_EQ(type_of(ok), "reply");
  EXPECT_EQ(ok["id"], 7);
  EXPECT_TRUE(ok["ok"].get<bool>());
  auto no = reply_error(8, "node n0 is not running");
  EXPECT_EQ(no["id"], 8);
  EXPECT_FALSE(no["ok"].get<bool>());
  EXPECT_EQ(no["error"], "node n0 is not running");
}
