// Workers that authenticate: bearer tokens with scopes, kept as SHA-256 digests in the store;
// state-changing requests must declare JSON (a browser's cross-site form post is refused);
// `troupe jobs serve` refuses a non-loopback address without tokens.

#include "jobs/engine.hpp"
#include "jobs/http/http_server.hpp"
#include "jobs/replay/replay.hpp"
#include "jobs/store.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/wait.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

using namespace troupe::jobs;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::string data_dir = troupe::test::source_dir() + "/scenarios/data/replay-test/";

/// Runs the troupe binary with `args`; its exit code and what it printed (both streams).
std::pair<int, std::string> run_troupe(const std::string& args) {
  const std::string cmd = troupe::test::troupe_binary() + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 512> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p))
    out.append(buf.data(), n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// A served engine (type t, no verify) and replay campaign on a store with tokens.
struct served {
  fs::path dir;
  std::unique_ptr<store> db;
  std::string worker_token, admin_token;
  std::unique_ptr<engine> eng;
  std::unique_ptr<replay_service> svc;
  std::unique_ptr<http_server> server;
  int port = 0;
  explicit served(const std::string& name)
    : dir(troupe::test::fresh_dir(name)) {
    db = store::open((dir / "jobs.db").string());
    worker_token = create_token(*db, token_scope::worker, 0);
    admin_token = create_token(*db, token_scope::admin, 0);
    eng = std::make_unique<engine>(db.get(), engine::options{1, SIZE_MAX});
    type_policy p;
    p.type = "t";
    p.verify = false;
    eng->define_type(p);
    svc = std::make_unique<replay_service>(*eng, replay_service::options{});
    eng->load(0);
    svc->load(load_replay_config(data_dir + "test-simple-jobs.json"), 0);
    http_server::options o;
    o.port = 0;
    server = std::make_unique<http_server>(*eng, svc.get(), o);
    port = server->start();
  }
  ~served() { server->stop(); }
  httplib::Client client(const std::string& token = "") const {
    httplib::Client c("127.0.0.1", port);
    if (!token.empty())
      c.set_bearer_token_auth(token);
    return c;
  }
};

int post(httplib::Client& c, const std::string& path, const std::string& body,
         const std::string& type = "application/json") {
  auto r = c.Post(path.c_str(), body, type.c_str());
  return r ? r->status : -1;
}

} // namespace

TEST(JobsAccess, TokensWithScopesGuardEveryStateChangingRequest) {
  served s("jobs-access");
  auto anonymous = s.client();
  auto wrong = s.client("trp_0000");
  auto worker = s.client(s.worker_token);
  auto admin = s.client(s.admin_token);
  const std::string job = R"({"type": "t", "key": 1})";
  const std::string claim = R"({"worker": "w"})";

  // 401 without a token or with an unknown one, with the Bearer challenge.
  auto r = anonymous.Post("/v1/claim", claim, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_NE(r->body.find("troupe jobs token create"), std::string::npos) << r->body;
  EXPECT_EQ(post(wrong, "/v1/claim", claim), 401);
  EXPECT_EQ(post(anonymous, "/v1/jobs", job), 401);
  // 403: a worker token cannot create or retry jobs; an admin token can.
  EXPECT_EQ(post(worker, "/v1/jobs", job), 403);
  EXPECT_EQ(post(worker, "/v1/jobs/1/retry", "{}"), 403);
  ASSERT_EQ(post(admin, "/v1/jobs", job), 201);
  const auto id = std::to_string(s.eng->size());
  // The worker's cycle.
  auto task = worker.Post("/v1/claim", claim, "application/json");
  ASSERT_EQ(task->status, 200) << task->body;
  const auto fence = nlohmann::json::parse(task->body)["fence"].dump();
  EXPECT_EQ(post(anonymous, "/v1/jobs/" + id + "/complete", claim), 401);
  EXPECT_EQ(post(worker, "/v1/jobs/" + id + "/heartbeat", claim), 200);
  EXPECT_EQ(
    post(worker, "/v1/jobs/" + id + "/complete", R"({"worker": "w", "fence": )" + fence + "}"),
    200);
  // Reads stay open.
  EXPECT_EQ(anonymous.Get("/v1/summary")->status, 200);
  EXPECT_EQ(anonymous.Get("/job?nextjob", {{"Accept", "application/json"}})->status, 200);

  // 415: a body a browser could post cross-site (form, text) or no declared type at all.
  EXPECT_EQ(post(worker, "/v1/claim", claim, "text/plain"), 415);
  EXPECT_EQ(post(worker, "/v1/claim", claim, "application/x-www-form-urlencoded"), 415);
  EXPECT_EQ(post(admin, "/v1/jobs", job, "multipart/form-data; boundary=x"), 415);
  EXPECT_EQ(post(worker, "/v1/claim", claim, "application/json; charset=utf-8"), 204);

  // The replay face: hosts that cannot add a header put the token in the URL.
  auto got = anonymous.Get("/job?jobid=1", {{"Accept", "application/json"}});
  auto body = nlohmann::json::parse(got->body);
  body["status"] = "STARTED";
  const httplib::Headers etag = {{"ETag", got->get_header_value("ETag")}};
  EXPECT_EQ(anonymous.Post("/job?jobid=1", etag, body.dump(), "application/json")->status, 401);
  EXPECT_EQ(anonymous.Post("/job?jobid=1&token=trp_0000", etag, body.dump(), "text/plain")->status,
            401);
  auto started = anonymous.Post(("/job?jobid=1&token=" + s.worker_token).c_str(), etag, body.dump(),
                                "text/plain");
  EXPECT_EQ(started->status, 200) << started->body;

  // A token created while serving is accepted at once (the gate reads the store again).
  const auto late = create_token(*s.db, token_scope::admin, 0);
  auto late_client = s.client(late);
  EXPECT_TRUE(troupe::test::wait_until(
    [&] { return post(late_client, "/v1/jobs", R"({"type": "t", "key": 2})") == 201; }, 5s));

  // Only digests are stored: SHA-256, hex.
  for (const auto& [digest, scope] : s.db->tokens()) {
    EXPECT_EQ(digest.size(), 64u);
    EXPECT_EQ(digest.find(s.worker_token), std::string::npos);
  }
  EXPECT_EQ(token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(JobsAccess, ServeRefusesANonLoopbackHostWithoutTokensAndTheCliMakesThem) {
  const auto dir = troupe::test::fresh_dir("jobs-access-cli");
  const auto db = (dir / "jobs.db").string();
  auto [code, out] = run_troupe("jobs serve --host 0.0.0.0 --port 0 --db " + db);
  EXPECT_EQ(code, 2) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out; // one sentence
  EXPECT_NE(out.find("refusing to serve on 0.0.0.0 without tokens"), std::string::npos) << out;
  EXPECT_NE(out.find("--insecure"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(db)) << "a refused start leaves nothing behind";

  auto [bad, bad_out] = run_troupe("jobs token create --scope root --db " + db);
  EXPECT_EQ(bad, 2) << bad_out;
  EXPECT_NE(bad_out.find("--scope must be worker"), std::string::npos) << bad_out;

  auto [made, token] = run_troupe("jobs token create --scope worker --db " + db);
  ASSERT_EQ(made, 0) << token;
  token = token.substr(0, token.find('\n'));
  EXPECT_EQ(token.rfind("trp_", 0), 0u) << token;
  EXPECT_EQ(token.size(), 68u);
  auto s = store::open(db, store::open_mode::must_exist);
  ASSERT_EQ(s->tokens().size(), 1u);
  EXPECT_EQ(s->tokens()[0].first, token_digest(token));
  EXPECT_EQ(s->tokens()[0].second, "worker");
}

TEST(JobsAccess, TroupeJobsWorkAuthenticatesWithItsToken) {
  served s("jobs-access-work");
  auto admin = s.client(s.admin_token);
  ASSERT_EQ(post(admin, "/v1/jobs", R"({"type": "t", "key": 9})"), 201);
  const auto id = s.eng->size();
  const std::string url = "http://127.0.0.1:" + std::to_string(s.port);
  auto [refused, refused_out] =
    run_troupe("jobs work --url " + url + " --type t --max-jobs 1 --command 'printf ok'");
  EXPECT_EQ(refused, 2) << refused_out;
  EXPECT_NE(refused_out.find("401"), std::string::npos) << refused_out;
  auto [code, out] = run_troupe("jobs work --url " + url + " --type t --max-jobs 1 --token " +
                                s.worker_token + " --command 'printf ok'");
  EXPECT_EQ(code, 0) << out;
  auto job = nlohmann::json::parse(admin.Get(("/v1/jobs/" + std::to_string(id)).c_str())->body);
  EXPECT_EQ(job["status"], "completed");
  EXPECT_EQ(job["result"]["stdout"], "ok");
}
