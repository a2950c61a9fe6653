// Node programs: templates, the built-in definitions, validation of program files and node
// params, and the one-sentence errors for a missing binary and a busy port.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "actors/errors.hpp"
#include "backends/local/ports.hpp"
#include "backends/local/program.hpp"
#include "tests/backends/live_helpers.hpp"
#include "tests/support/sockets.hpp"

using namespace troupe;
using namespace troupe::backends::local;
using namespace troupe::backends::testing;

TEST(program_render, replaces_placeholders_and_keeps_json_braces) {
  template_vars v{{"id", "validator-0"}, {"rpc_port", "20001"}};
  EXPECT_EQ(render("-rpcport={rpc_port}", v, "t"), "-rpcport=20001");
  EXPECT_EQ(render("{\"key\": \"{id}\"}", v, "t"), "{\"key\": \"validator-0\"}");
  EXPECT_EQ(render("{}", v, "t"), "{}");
  // Transaction fields wait for the adapter.
  EXPECT_EQ(render("{tx.id_base64}", v, "t"), "{tx.id_base64}");
  EXPECT_THROW(render("{nope}", v, "t"), user_error);
}

TEST(program_builtins, litecoin_and_etcd_load) {
  auto names = builtin_programs();
  EXPECT_NE(std::find(names.begin(), names.end(), "litecoin-regtest"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "etcd"), names.end());
  auto lt = load_program("litecoin-regtest");
  EXPECT_EQ(lt->binary, "litecoind");
  EXPECT_EQ(lt->package, "litecoind");
  EXPECT_EQ(lt->adapter["kind"], "bitcoin-rpc");
  auto etcd = load_program("etcd");
  EXPECT_EQ(etcd->adapter["kind"], "http-json");
  EXPECT_EQ(etcd->join_scope, "all");
}

TEST(program_builtins, unknown_name_lists_the_builtins) {
  try {
    load_program("bitcoin-mainnet");
    FAIL();
  } catch (const user_error& e) {
    EXPECT_NE(std::string(e.what()).find("litecoin-regtest"), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), exit_bad_input);
  }
}

TEST(program_file, every_problem_is_reported_with_its_path) {
  auto doc = nlohmann::json{
    {"name", "x"}, {"ports", {{"p", "fixed"}}}, {"ready", {{"probe", "smoke"}}}, {"surprise", 1}};
  try {
    parse_program(doc, "x.json");
    FAIL();
  } catch (const validation_failed& e) {
    std::string all = e.what();
    for (auto want : {"x.json.binary", "x.json.ports.p", "x.json.ready.probe", "x.json.adapter",
                      "x.json.surprise"})
      EXPECT_NE(all.find(want), std::string::npos) << want << " in " << all;
  }
}

TEST(program_params, node_params_are_checked_against_the_program) {
  auto lt = load_program("litecoin-regtest");
  std::vector<validation_error> errors;
  nlohmann::json params{{"slot", "500ms"}, {"active_slot_coeff", 2.0}, {"colour", "red"}};
  params_reader r{params, "node.params", errors};
  validate_params(*lt, r);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "node.params.active_slot_coeff");
  EXPECT_EQ(errors[1].path, "node.params.colour");
  auto values = param_values(*lt, nlohmann::json{{"slot", "500ms"}});
  EXPECT_EQ(values["slot"], "500ms");
  EXPECT_EQ(values["finality_depth"], "3");
}

TEST(program_binary, missing_binary_names_the_debian_package) {
  auto lt = std::make_shared<program>(*load_program("litecoin-regtest"));
  lt->binary = "troupe-no-such-litecoind";
  try {
    resolve_binary(*lt);
    FAIL();
  } catch (const user_error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("install the Debian package litecoind"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one sentence: " << msg;
    EXPECT_EQ(e.code(), exit_bad_input);
  }
}

TEST(ports, allocated_ports_are_free_and_distinct) {
  port_allocator a{20000, 32000};
  std::set<uint16_t> seen;
  for (int i = 0; i < 50; ++i) {
    auto p = a.allocate("test port");
    EXPECT_TRUE(seen.insert(p).second);
    EXPECT_TRUE(port_allocator::is_free(p));
  }
}

TEST(ports, a_busy_pinned_port_is_one_clear_error) {
  troupe::test::busy_port held;
  ASSERT_NE(held.port, 0);
  auto busy = held.port;
  port_allocator a{20000, 32000};
  try {
    a.reserve(busy, "rpc_port of validator-0");
    FAIL();
  } catch (const user_error& e) {
    std::string msg = e.what();
    EXPECT_NE(
      msg.find("port " + std::to_string(busy) + " (rpc_port of validator-0) is already in use"),
      std::string::npos)
      << msg;
  }
}
