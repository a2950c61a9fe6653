// The agent's `watch` op (docs/agent-protocol.md, "Summaries"): a child `troupe agent`
// polls a real litecoind (regtest) beside it and sends a `summary` event when a block is
// mined, with the block and its transactions, and none while nothing changes; bad watch
// arguments are refused with the reason.

#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "backends/adapters/adapter.hpp"
#include "backends/agent/connection.hpp"
#include "backends/agent/remote_supervisor.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/sockets.hpp"
#include "tests/support/wait.hpp"

using namespace troupe::backends;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

/// The summary events an agent sent, in order.
struct summary_log {
  std::mutex mutex;
  std::vector<json> events;

  size_t count() {
    std::lock_guard<std::mutex> guard{mutex};
    return events.size();
  }
  json last() {
    std::lock_guard<std::mutex> guard{mutex};
    return events.empty() ? json::object() : events.back();
  }
};

/// A connection to an agent whose node events reach a remote supervisor and whose summaries
/// reach a log.
struct watched_host {
  std::shared_ptr<agent::remote_supervisor> sup = std::make_shared<agent::remote_supervisor>();
  std::shared_ptr<summary_log> summaries = std::make_shared<summary_log>();
  std::shared_ptr<agent::connection> conn;
  fs::path dir;

  watched_host(bool child, const std::string& name)
    : dir(troupe::test::fresh_dir(name)) {
    auto s = sup;
    auto log = summaries;
    auto on_event = [s, log](const json& e) {
      if (e.value("event", std::string{}) == "summary") {
        std::lock_guard<std::mutex> guard{log->mutex};
        log->events.push_back(e);
      }
      s->on_event(e);
    };
    if (child) {
      agent::child_agent_options o;
      o.binary = troupe::test::troupe_binary();
      o.log_path = dir / "agent.log";
      o.pid_path = dir / "agent.pid";
      conn = agent::connection::start_child(o, on_event);
    } else {
      conn = agent::connection::start_in_process(on_event);
    }
    sup->attach(conn);
  }
  ~watched_host() {
    if (conn)
      conn->close();
  }

  uint64_t polls(size_t slot) {
    const auto stats = conn->call("watch_stats");
    for (const auto& w : stats.at("watches"))
      if (w.at("slot").get<size_t>() == slot)
        return w.at("polls").get<uint64_t>();
    return 0;
  }
  /// Waits for `n` more polls of `slot` (bounded), so a quiet interval is a number of polls.
  bool polls_pass(size_t slot, uint64_t n) {
    const auto target = polls(slot) + n;
    if (troupe::test::wait_until([&] { return polls(slot) >= target; }, 20s))
      return true;
    ADD_FAILURE() << "polls: " << conn->call("watch_stats").dump() << ", wanted " << target;
    return false;
  }
};

local::process_options litecoind(const fs::path& dir, int p2p, int rpc) {
  local::process_options o;
  o.id = "validator-0";
  o.binary = "/usr/bin/litecoind";
  o.cwd = dir / "validator-0";
  o.log_path = dir / "validator-0.log";
  o.pid_path = dir / "validator-0.pid";
  o.env = {{"HOME", o.cwd.string()}};
  o.args = {"-regtest",
            "-server",
            "-listen=0",
            "-datadir=" + o.cwd.string(),
            "-port=" + std::to_string(p2p),
            "-rpcport=" + std::to_string(rpc),
            "-rpcbind=127.0.0.1",
            "-rpcallowip=127.0.0.1",
            "-rpcuser=troupe",
            "-rpcpassword=troupe-regtest",
            "-connect=0",
            "-dnsseed=0",
            "-discover=0",
            "-listenonion=0",
            "-upnp=0",
            "-fallbackfee=0.0002",
            "-dbcache=4",
            "-par=1",
            "-printtoconsole=1",
            "-nodebuglogfile"};
  return o;
}

json rpc_settings(int rpc) {
  return json{{"kind", "bitcoin-rpc"},
              {"url", "http://127.0.0.1:" + std::to_string(rpc)},
              {"user", "troupe"},
              {"password", "troupe-regtest"},
              {"wallet", "troupe"}};
}

} // namespace

TEST(agent_watch, a_child_agent_sends_a_summary_per_change_of_a_real_litecoind) {
  watched_host host{true, "agent-watch-litecoind"};
  const int rpc = troupe::test::free_port();
  const int p2p = troupe::test::free_port();
  fs::create_directories(host.dir / "validator-0");
  auto slot = host.sup->add(litecoind(host.dir, p2p, rpc), 10s);
  host.sup->start(slot);
  host.conn->call("watch", {{"slot", slot}, {"adapter", rpc_settings(rpc)}, {"interval_ms", 100}});

  // Down until its RPC answers, then one summary saying it is up.
  ASSERT_TRUE(
    troupe::test::wait_until([&] { return host.summaries->last().value("up", false); }, 60s))
    << troupe::test::file_text(host.dir / "validator-0.log");
  auto up = host.summaries->last();
  EXPECT_EQ(up.at("id"), "validator-0");
  EXPECT_EQ(up.at("slot"), slot);
  const auto h0 = up.at("height").get<uint64_t>();

  // The test's own RPC to the node, for the wallet and for mining.
  auto a = adapters::make_adapter(rpc_settings(rpc), "validator-0", 10s, "test");
  a->wallet()->ensure_wallet();
  auto address = a->wallet()->new_address();

  // Nothing changes: no summary however many polls pass.
  auto before = host.summaries->count();
  ASSERT_TRUE(host.polls_pass(slot, 5));
  EXPECT_EQ(host.summaries->count(), before);

  // One block: exactly one summary, with the block (its hash, parent, coinbase).
  auto hash = a->wallet()->generate(1, address);
  ASSERT_TRUE(troupe::test::wait_until(
    [&] { return host.summaries->last().value("height", uint64_t{0}) == h0 + 1; }, 20s));
  ASSERT_TRUE(host.polls_pass(slot, 5));
  EXPECT_EQ(host.summaries->count(), before + 1);
  auto mined = host.summaries->last();
  EXPECT_EQ(mined.at("tip"), hash);
  ASSERT_EQ(mined.at("blocks").size(), 1u);
  EXPECT_EQ(mined["blocks"][0].at("height"), h0 + 1);
  EXPECT_EQ(mined["blocks"][0].at("hash"), hash);
  EXPECT_EQ(mined["blocks"][0].at("parent"), up.at("tip"));
  EXPECT_EQ(mined["blocks"][0].at("txids").size(), 1u); // the coinbase
  EXPECT_EQ(mined.at("reorg_depth"), 0);

  // Stopped: one summary saying it is down.
  ASSERT_TRUE(host.sup->stop(slot, 10s));
  ASSERT_TRUE(
    troupe::test::wait_until([&] { return !host.summaries->last().value("up", true); }, 20s));
  EXPECT_EQ(host.summaries->count(), before + 2);
}

TEST(agent_watch, bad_watch_arguments_are_refused_with_the_reason) {
  watched_host host{false, "agent-watch-bad"};
  local::process_options o;
  o.id = "n0";
  o.binary = "/bin/sleep";
  o.args = {"300"};
  o.cwd = host.dir / "n0";
  o.log_path = host.dir / "n0.log";
  o.pid_path = host.dir / "n0.pid";
  auto slot = host.sup->add(o, 2s);
  auto refusal = [&](json args) {
    try {
      host.conn->call("watch", std::move(args));
    } catch (const agent::agent_error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refusal({{"slot", slot}}).find("bad arguments to watch: field \"adapter\""),
            std::string::npos);
  EXPECT_NE(refusal({{"slot", 7}, {"adapter", rpc_settings(1)}}).find("field \"slot\""),
            std::string::npos);
  EXPECT_NE(refusal({{"slot", slot}, {"adapter", {{"kind", "no-such-kind"}}}}).find("no-such-kind"),
            std::string::npos);
  EXPECT_NE(
    refusal({{"slot", slot}, {"adapter", rpc_settings(1)}, {"interval_ms", 1}}).find("interval_ms"),
    std::string::npos);
  EXPECT_EQ(host.conn->call("watch_stats").at("watches").size(), 0u);
}
