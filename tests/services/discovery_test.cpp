// The discovery registry with real processes: `troupe discovery serve`, keys from `troupe
// discovery keygen`, submissions from `troupe discovery announce` and by hand (unsigned,
// unknown keys, bad signatures), windows, and a restart that keeps the state.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "services/discovery_client.hpp"
#include "services/discovery_server.hpp"
#include "services/ed25519.hpp"
#include "tests/support/observability_helpers.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/sockets.hpp"
#include "tests/support/wait.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using troupe::test::child;

namespace {

std::string cli() { return troupe::test::shell_quote(troupe::test::troupe_binary()); }

/// A public key from `troupe discovery keygen` (its secret in `file`).
std::string keygen(const std::filesystem::path& file) {
  auto o = troupe::test::shell(cli() + " discovery keygen --out " + file.string(), 30);
  EXPECT_EQ(o.code, 0) << o.out;
  return o.out.substr(0, o.out.find('\n'));
}

struct registry_proc {
  std::unique_ptr<child> proc;
  std::string url;
  registry_proc(const std::filesystem::path& dir, int port, const std::string& log_name) {
    const auto log = dir / log_name;
    proc = std::make_unique<child>(
      std::vector<std::string>{
        troupe::test::troupe_binary(), "discovery", "serve", "--port", std::to_string(port),
        "--whitelist", (dir / "whitelist.json").string(), "--db", (dir / "registry.db").string()},
      log);
    if (troupe::test::wait_until([&] { return troupe::test::file_contains(log, "registry on "); },
                                 30s))
      url = "http://127.0.0.1:" + std::to_string(port);
  }
  ~registry_proc() { stop(); }
  void stop() {
    proc->signal(SIGTERM);
    proc->wait(10s);
  }
};

std::vector<std::string> online_ids(const std::string& url, const std::string& window = {}) {
  std::vector<std::string> ids;
  for (const auto& n : troupe::services::fetch_online(url, window))
    ids.push_back(n.id);
  return ids;
}

int submit_raw(const std::string& url, const std::string& body, const httplib::Headers& h) {
  httplib::Client c{"127.0.0.1", std::stoi(url.substr(url.rfind(':') + 1))};
  auto r = c.Post("/v1/submit", h, body, "application/json");
  return r ? r->status : -1;
}

} // namespace

TEST(discovery, signed_submissions_are_listed_and_strangers_are_refused) {
  const auto dir = troupe::test::fresh_dir("discovery-signed");
  const auto pub_a = keygen(dir / "a.key");
  const auto pub_b = keygen(dir / "b.key");
  const auto pub_stranger = keygen(dir / "stranger.key");
  { std::ofstream{dir / "whitelist.json"} << json{{"whitelist", {pub_a, pub_b}}}.dump(); }
  registry_proc reg{dir, troupe::test::free_port(), "serve.log"};
  ASSERT_FALSE(reg.url.empty()) << troupe::test::file_text(dir / "serve.log");

  for (const auto& [id, key] : {std::pair{"node-b", "b.key"}, std::pair{"node-a", "a.key"}}) {
    auto o = troupe::test::shell(cli() + " discovery announce --once --url " + reg.url + " --key " +
                                   (dir / key).string() + " --id " + id +
                                   " --program etcd --endpoint client=127.0.0.1:2379 --label "
                                   "zone=eu",
                                 30);
    EXPECT_EQ(o.code, 0) << o.out;
  }
  // Stable order: by id, whatever the order of arrival.
  EXPECT_EQ(online_ids(reg.url), (std::vector<std::string>{"node-a", "node-b"}));
  auto nodes = troupe::services::fetch_online(reg.url);
  EXPECT_EQ(nodes[0].program, "etcd");
  EXPECT_EQ(nodes[0].endpoints["client"], "127.0.0.1:2379");
  EXPECT_EQ(nodes[0].labels["zone"], "eu");
  EXPECT_EQ(nodes[0].key, pub_a);

  // A stranger's key: refused with 403, and nothing is listed.
  auto s = troupe::test::shell(cli() + " discovery announce --once --url " + reg.url + " --key " +
                                 (dir / "stranger.key").string() + " --id intruder",
                               30);
  EXPECT_EQ(s.code, 2) << s.out;
  EXPECT_NE(s.out.find("HTTP 403"), std::string::npos) << s.out;
  // Unsigned, and signed by one key but presented as another: 401.
  const std::string body =
    json{{"id", "intruder"}, {"time_ms", troupe::services::wall_ms()}}.dump();
  EXPECT_EQ(submit_raw(reg.url, body, {}), 401);
  const auto secret_stranger = troupe::services::read_secret_key(dir / "stranger.key");
  EXPECT_EQ(
    submit_raw(reg.url, body,
               {{"X-Troupe-Key", pub_a},
                {"X-Troupe-Signature", troupe::services::ed25519_sign(secret_stranger, body)}}),
    401);
  // A whitelisted key may not take over another key's node id.
  auto take = troupe::test::shell(cli() + " discovery announce --once --url " + reg.url +
                                    " --key " + (dir / "b.key").string() + " --id node-a",
                                  30);
  EXPECT_EQ(take.code, 2) << take.out;
  EXPECT_NE(take.out.find("another key"), std::string::npos) << take.out;
  EXPECT_EQ(online_ids(reg.url), (std::vector<std::string>{"node-a", "node-b"}));
  (void) pub_stranger;
}

TEST(discovery, windows_expire_silent_nodes_and_a_restart_keeps_the_state) {
  const auto dir = troupe::test::fresh_dir("discovery-restart");
  const auto pub = keygen(dir / "k.key");
  { std::ofstream{dir / "whitelist.json"} << pub << "\n"; } // one key a line
  const int port = troupe::test::free_port();
  auto reg = std::make_unique<registry_proc>(dir, port, "serve1.log");
  ASSERT_FALSE(reg->url.empty()) << troupe::test::file_text(dir / "serve1.log");
  const std::string url = reg->url;
  // One node keeps announcing (every 100ms); the other announces once and falls silent.
  child steady{{troupe::test::troupe_binary(), "discovery", "announce", "--url", url, "--key",
                (dir / "k.key").string(), "--id", "steady", "--every", "100ms"},
               dir / "steady.log"};
  auto once = troupe::test::shell(cli() + " discovery announce --once --url " + url + " --key " +
                                    (dir / "k.key").string() + " --id silent",
                                  30);
  ASSERT_EQ(once.code, 0) << once.out;
  ASSERT_TRUE(troupe::test::wait_until([&] { return online_ids(url).size() == 2; }, 30s));
  // The silent node leaves a short window once it has been silent longer than it; the
  // steady one stays.
  EXPECT_TRUE(troupe::test::wait_until(
    [&] { return online_ids(url, "1s") == std::vector<std::string>{"steady"}; }, 30s))
    << online_ids(url, "1s").size();
  EXPECT_EQ(online_ids(url, "10m"), (std::vector<std::string>{"silent", "steady"}));

  // Restart (stopped by PID): the state is still there, and the announcer goes on.
  reg.reset();
  reg = std::make_unique<registry_proc>(dir, port, "serve2.log");
  ASSERT_FALSE(reg->url.empty()) << troupe::test::file_text(dir / "serve2.log");
  EXPECT_EQ(online_ids(url, "10m"), (std::vector<std::string>{"silent", "steady"}));
  EXPECT_TRUE(troupe::test::wait_until(
    [&] { return online_ids(url, "1s") == std::vector<std::string>{"steady"}; }, 30s));
  steady.signal(SIGTERM);
  EXPECT_EQ(steady.wait(10s), 0) << troupe::test::file_text(dir / "steady.log");
}

TEST(discovery, a_missing_whitelist_is_one_sentence_and_exit_2) {
  auto o =
    troupe::test::troupe_cli("discovery serve --port 0 --whitelist /nonexistent/wl.json", 30);
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_NE(o.out.find("cannot read whitelist"), std::string::npos) << o.out;
}
