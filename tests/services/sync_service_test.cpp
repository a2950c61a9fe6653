// The sync service over HTTP with real processes: `troupe sync serve` and 20 `troupe sync
// barrier` processes (the CLI, through the HTTP API) meet at one barrier, each exactly once.

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "services/sync_client.hpp"
#include "tests/support/observability_helpers.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/wait.hpp"

using namespace std::chrono_literals;
using troupe::test::child;

namespace {

/// `troupe sync serve` on a free port; its URL once it listens.
struct sync_server {
  std::filesystem::path log;
  std::unique_ptr<child> proc;
  std::string url;

  explicit sync_server(const std::filesystem::path& dir)
    : log(dir / "serve.log") {
    proc = std::make_unique<child>(
      std::vector<std::string>{troupe::test::troupe_binary(), "sync", "serve", "--port", "0"}, log);
    const bool up = troupe::test::wait_until(
      [&] { return troupe::test::file_contains(log, "sync service on "); }, 30s);
    if (up) {
      auto text = troupe::test::file_text(log);
      auto at = text.find("http://");
      url = text.substr(at, text.find('\n', at) - at);
    }
  }
  ~sync_server() {
    proc->signal(SIGTERM);
    proc->wait(10s);
  }
};

} // namespace

TEST(sync_http, twenty_processes_meet_at_a_barrier_exactly_once_each) {
  const auto dir = troupe::test::fresh_dir("sync-barrier-20");
  sync_server server{dir};
  ASSERT_FALSE(server.url.empty()) << troupe::test::file_text(server.log);
  constexpr int n = 20;
  std::vector<std::unique_ptr<child>> procs;
  auto start = [&](int i) {
    procs.push_back(std::make_unique<child>(
      std::vector<std::string>{troupe::test::troupe_binary(), "sync", "barrier", "meet",
                               std::to_string(n), "--url", server.url, "--timeout", "2m"},
      dir / ("p" + std::to_string(i) + ".out")));
  };
  // What the participants that already ended printed (none should have, before the last one).
  auto exited_outputs = [&] {
    std::string out;
    for (size_t i = 0; i < procs.size(); ++i)
      if (!procs[i]->running())
        out += "\np" + std::to_string(i) + ": " +
               troupe::test::file_text(dir / ("p" + std::to_string(i) + ".out"));
    return out;
  };
  for (int i = 0; i + 1 < n; ++i)
    start(i);
  troupe::services::sync_client c{server.url};
  // Nineteen entered: none may pass the barrier yet, since the twentieth has not arrived.
  ASSERT_TRUE(troupe::test::wait_until([&] { return c.count("meet") == n - 1; }, 60s))
    << "entries: " << c.count("meet") << exited_outputs();
  for (auto& p : procs)
    EXPECT_TRUE(p->running()) << "a participant passed the barrier before everyone arrived";
  start(n - 1);
  std::set<int> seqs;
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(procs[i]->wait(60s), 0)
      << troupe::test::file_text(dir / ("p" + std::to_string(i) + ".out"));
    seqs.insert(std::stoi(troupe::test::file_text(dir / ("p" + std::to_string(i) + ".out"))));
  }
  // Each entered once: the seqs are exactly 1..20 and the state holds 20 entries.
  EXPECT_EQ(seqs.size(), static_cast<size_t>(n));
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), n);
  EXPECT_EQ(c.count("meet"), static_cast<uint64_t>(n));
}

TEST(sync_http, publish_and_subscribe_through_the_cli_keep_order) {
  const auto dir = troupe::test::fresh_dir("sync-topics");
  sync_server server{dir};
  ASSERT_FALSE(server.url.empty()) << troupe::test::file_text(server.log);
  child sub{{troupe::test::troupe_binary(), "sync", "subscribe", "keys", "--count", "2", "--url",
             server.url, "--timeout", "1m"},
            dir / "sub.out"};
  const std::string cli = troupe::test::shell_quote(troupe::test::troupe_binary());
  auto p1 = troupe::test::shell(cli + " sync publish keys '{\"node\": 0}' --url " + server.url, 30);
  auto p2 = troupe::test::shell(cli + " sync publish keys '\"second\"' --url " + server.url, 30);
  EXPECT_EQ(p1.code, 0) << p1.out;
  EXPECT_EQ(p1.out, "1\n");
  EXPECT_EQ(p2.out, "2\n");
  ASSERT_EQ(sub.wait(60s), 0) << troupe::test::file_text(dir / "sub.out");
  EXPECT_EQ(troupe::test::file_text(dir / "sub.out"), "{\"node\":0}\n\"second\"\n");
}

TEST(sync_http, bad_input_is_one_sentence_and_exit_2) {
  auto none = troupe::test::troupe_cli("sync signal x --url http://127.0.0.1:1", 30);
  EXPECT_EQ(none.code, 2) << none.out;
  EXPECT_NE(none.out.find("did not answer"), std::string::npos) << none.out;
  auto no_url = troupe::test::shell("env -u TROUPE_SYNC_URL " +
                                      troupe::test::shell_quote(troupe::test::troupe_binary()) +
                                      " sync signal x",
                                    30);
  EXPECT_EQ(no_url.code, 2) << no_url.out;
  EXPECT_NE(no_url.out.find("TROUPE_SYNC_URL"), std::string::npos) << no_url.out;
  const auto dir = troupe::test::fresh_dir("sync-bad");
  sync_server server{dir};
  ASSERT_FALSE(server.url.empty());
  auto bad = troupe::test::troupe_cli("sync publish t 'not json' --url " + server.url, 30);
  EXPECT_EQ(bad.code, 2) << bad.out;
  auto timeout =
    troupe::test::troupe_cli("sync barrier lonely 2 --timeout 200ms --url " + server.url, 30);
  EXPECT_EQ(timeout.code, 2) << timeout.out;
  EXPECT_NE(timeout.out.find("1 of 2"), std::string::npos) << timeout.out;
}
