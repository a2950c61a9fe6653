// The replay-test compatible face: byte-exact renderings, the protocol driven by a real HTTP
// client over loopback in every format, ETag races, lease expiry, and the 899-slice
// production campaign run by simulated hosts on CAF's virtual-time test coordinator.

#include "jobs/campaign_actor.hpp"
#include "jobs/http/http_server.hpp"
#include "jobs/replay/py_format.hpp"
#include "jobs/replay/replay.hpp"
#include "jobs/workers/sim_workers.hpp"
#include "tests/support/replay_summary.hpp"

#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>
#include <httplib.h>

#include "tests/support/paths.hpp"
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

using namespace troupe::jobs;
namespace fs = std::filesystem;

namespace {

const std::string data_dir = troupe::test::source_dir() + "/scenarios/data/replay-test/";
constexpr time_ms jan_1_2024 = 1'704'067'200'000;

fs::path fresh_dir(const std::string& name) { return troupe::test::fresh_dir("jobs-" + name); }

/// An engine + store + replay service over a private copy of a config file.
struct replay_fixture {
  fs::path dir;
  std::unique_ptr<store> db;
  std::unique_ptr<engine> eng;
  std::unique_ptr<replay_service> svc;

  replay_fixture(const std::string& name, const std::string& config, time_ms lease_ms = 0) {
    dir = fresh_dir(name);
    fs::copy_file(data_dir + config, dir / "config.json");
    fs::permissions(dir / "config.json", fs::perms::owner_read | fs::perms::owner_write);
    db = store::open((dir / "jobs.db").string());
    eng = std::make_unique<engine>(db.get(), engine::options{1, SIZE_MAX});
    svc = std::make_unique<replay_service>(
      *eng, replay_service::options{lease_ms, (dir / "config.json").string()});
    svc->load(load_replay_config((dir / "config.json").string()), jan_1_2024);
  }
};

http_request get(const std::string& path, const std::string& accept,
                 std::vector<std::pair<std::string, std::string>> params = {}) {
  http_request r;
  r.path = path;
  r.params = std::move(params);
  if (!accept.empty())
    r.headers.emplace_back("Accept", accept);
  return r;
}

/// A one-shot barrier (std::barrier is C++20).
class latch {
public:
  explicit latch(int n)
    : left_(n) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lk(m_);
    if (--left_ == 0)
      cv_.notify_all();
    else
      cv_.wait_for(lk, std::chrono::seconds(10), [&] { return left_ == 0; });
  }

private:
  std::mutex m_;
  std::condition_variable cv_;
  int left_;
};

} // namespace

// -- byte-exact renderings -------------------------------------------------------------

TEST(JobsReplay, RendersJobsExactlyAsThePythonServiceDoes) {
  replay_fixture f("render", "test-simple-jobs.json");
  auto r = f.svc->handle(get("/job", "application/json", {{"nextjob", ""}}), jan_1_2024);
  ASSERT_EQ(r.status, 200);
  // Expected values produced by Python 3: json.dumps(as_dict()) and
  // hashlib.sha1(str(as_dict()).encode()).hexdigest() for the same job.
  EXPECT_EQ(
    r.body,
    R"({"job_id": 1, "replay_slice_id": 1, "snapshot_path": "s3://chicken-dance/test/snapshots/snapshot-2023-08-02-16-eos-v6-0323611371.bin.zst", "storage_type": "s3", "leap_version": "5.0.2", "start_block_num": 323611371, "end_block_num": 323784127, "status": "WAITING_4_WORKER", "last_block_processed": 0, "start_time": "2024-01-01T00:00:00", "end_time": null, "expected_integrity_hash": "07206cc3b3b7445b52cb51ab992196527a351e032f5644f34234186885ae082c", "actual_integrity_hash": null})");
  EXPECT_EQ(r.header("ETag"), "bef0f5592eed69e32f4b0f394c3318650e3d74e1");
  EXPECT_EQ(r.content_type, "application/json");

  auto t = f.svc->handle(get("/job", "text/plain", {{"jobid", "1"}}), jan_1_2024);
  EXPECT_EQ(t.body, "job_id=1, replay_slice_id=1, snapshot_path=s3://chicken-dance/test/snapshots/"
                    "snapshot-2023-08-02-16-eos-v6-0323611371.bin.zst, storage_type=s3, "
                    "leap_version=5.0.2, start_block_num=323611371, end_block_num=323784127, "
                    "status=WAITING_4_WORKER, last_block_processed=0, "
                    "start_time=2024-01-01T00:00:00, end_time=None, expected_integrity_hash="
                    "07206cc3b3b7445b52cb51ab992196527a351e032f5644f34234186885ae082c, "
                    "actual_integrity_hash=None");
  EXPECT_EQ(t.header("ETag"), r.header("ETag"));
}

TEST(JobsReplay, PythonReprAndJsonDumpsEdgeCases) {
  nlohmann::ordered_json v;
  v["a"] = "it's";
  v["b"] = "x\"y";
  v["c"] = "\xC3\xA9\n";
  v["d"] = nlohmann::ordered_json::array({1, nullptr, true});
  EXPECT_EQ(py_repr(v), "{'a': \"it's\", 'b': 'x\"y', 'c': '\xC3\xA9\\n', 'd': [1, None, True]}");
  EXPECT_EQ(sha1_hex(py_repr(v)), "bd09c1f42facd779edd625f269fe6afb23c0f373");
  v["c"] = "\xC3\xA9\n\xF0\x9F\x98\x80";
  EXPECT_EQ(py_json_dumps(v),
            R"({"a": "it's", "b": "x\"y", "c": "\u00e9\n\ud83d\ude00", "d": [1, null, true]})");
}

TEST(JobsReplay, IntegrityChainingSettlesHashMismatch) {
  replay_fixture f("chain", "test-simple-jobs.json");
  auto post = [&](job_id id, nlohmann::ordered_json fields) {
    auto g = f.svc->handle(get("/job", "application/json", {{"jobid", std::to_string(id)}}), 0);
    auto job = nlohmann::ordered_json::parse(g.body);
    for (auto& [k, v] : fields.items())
      job[k] = v;
    http_request p;
    p.method = "POST";
    p.path = "/job";
    p.params = {{"jobid", std::to_string(id)}};
    p.headers = {{"ETag", *g.header("ETag")}};
    p.body = job.dump();
    return f.svc->handle(p, 0);
  };
  // Slice 2 completes with a hash that differs from its configured expectation.
  ASSERT_EQ(post(2, {{"status", "COMPLETE"}, {"actual_integrity_hash", "abc"}}).status, 200);
  EXPECT_EQ(f.svc->by_id(2)->status, replay_status::HASH_MISMATCH);
  // The host of slice 3 reports the hash at its start block: slice 2's expected hash.
  http_request cfg;
  cfg.method = "POST";
  cfg.path = "/config";
  cfg.body = R"({"end_block_num": 323956925, "integrity_hash": "abc"})";
  auto c = f.svc->handle(cfg, 0);
  EXPECT_EQ(c.status, 200);
  EXPECT_EQ(c.body, R"({"sliceid": 2, "message": "updated integrity hash"})");
  EXPECT_EQ(f.svc->by_id(2)->status, replay_status::COMPLETE);
  // Written back into the config file, as the original does.
  auto file = nlohmann::json::parse(std::ifstream(f.dir / "config.json"));
  EXPECT_EQ(file[1]["expected_integrity_hash"], "abc");
  EXPECT_FALSE(file[1].contains("replay_slice_id"));
  // COMPLETE with neither hash is an ERROR.
  http_request cfg1 = cfg;
  cfg1.body = R"({"end_block_num": 323784127, "integrity_hash": ""})";
  f.svc->handle(cfg1, 0);
  ASSERT_EQ(post(1, {{"status", "COMPLETE"}}).status, 200);
  EXPECT_EQ(f.svc->by_id(1)->status, replay_status::ERROR);
  cfg.body = R"({"end_block_num": 1, "integrity_hash": "x"})";
  EXPECT_EQ(f.svc->handle(cfg, 0).status, 404);
}

// -- over loopback ---------------------------------------------------------------------------

struct served {
  replay_fixture f;
  std::unique_ptr<http_server> server;
  int port = 0;
  served(const std::string& name, const std::string& config, time_ms lease_ms = 0)
    : f(name, config, lease_ms) {
    http_server::options o;
    o.port = 0;
    o.lease_check_ms = 50;
    server = std::make_unique<http_server>(*f.eng, f.svc.get(), o);
    port = server->start();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(5);
    c.set_read_timeout(10);
    return c;
  }
};

TEST(JobsReplay, ProtocolOverLoopbackInEveryFormat) {
  served s("http", "test-full-run.json");
  auto c = s.client();
  auto redirect = c.Get("/job", {{"Accept", "application/json"}});
  ASSERT_TRUE(redirect);
  EXPECT_EQ(redirect->status, 301);
  EXPECT_EQ(redirect->get_header_value("Location"), "/job?nextjob");

  auto text = c.Get("/job?nextjob", {{"Accept", "text/plain; charset=utf-8"}});
  ASSERT_TRUE(text);
  EXPECT_EQ(text->status, 200);
  EXPECT_EQ(text->body.rfind("job_id=1, replay_slice_id=1, ", 0), 0u) << text->body;
  EXPECT_EQ(text->get_header_value("ETag").size(), 40u);

  auto json = c.Get("/job?nextjob", {{"Accept", "application/json"}});
  ASSERT_TRUE(json);
  EXPECT_EQ(json->get_header_value("Content-Type"), "application/json");
  auto job = nlohmann::ordered_json::parse(json->body);
  std::vector<std::string> keys;
  for (auto& [k, v] : job.items())
    keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{
                    "job_id", "replay_slice_id", "snapshot_path", "storage_type", "leap_version",
                    "start_block_num", "end_block_num", "status", "last_block_processed",
                    "start_time", "end_time", "expected_integrity_hash", "actual_integrity_hash"}));
  const auto etag = json->get_header_value("ETag");

  // Bad input: missing jobid, unknown job, stale ETag, bad JSON, unknown status.
  EXPECT_EQ(c.Post("/job", {{"ETag", etag}}, "{}", "application/json")->status, 404);
  EXPECT_EQ(c.Post("/job?jobid=9999", {{"ETag", etag}}, "{}", "application/json")->status, 404);
  auto stale =
    c.Post("/job?jobid=1", {{"ETag", "0000"}}, R"({"status": "STARTED"})", "application/json");
  EXPECT_EQ(stale->status, 400);
  EXPECT_EQ(stale->body, "Invalid ETag");
  EXPECT_EQ(c.Post("/job?jobid=1", {{"ETag", etag}}, "{not json", "application/json")->status, 400);
  auto unknown =
    c.Post("/job?jobid=1", {{"ETag", etag}}, R"({"status": "FINISHED"})", "application/json");
  EXPECT_EQ(unknown->status, 400);
  EXPECT_NE(unknown->body.find("WAITING_4_WORKER"), std::string::npos);

  job["status"] = "STARTED";
  auto ok = c.Post("/job?jobid=1", {{"ETag", etag}}, py_json_dumps(job), "application/json");
  ASSERT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, R"({"status": "updated"})");
  EXPECT_NE(ok->get_header_value("ETag"), etag);
  auto again = c.Get("/job?jobid=1", {{"Accept", "application/json"}});
  EXPECT_EQ(again->get_header_value("ETag"), ok->get_header_value("ETag"));
  EXPECT_EQ(nlohmann::json::parse(again->body)["status"], "STARTED");
  auto next = c.Get("/job?nextjob", {{"Accept", "application/json"}});
  EXPECT_EQ(nlohmann::json::parse(next->body)["job_id"], 2);

  for (const char* path : {"/status", "/status?sliceid=1", "/summary"}) {
    SCOPED_TRACE(path);
    auto h = c.Get(path, {{"Accept", "text/html"}});
    EXPECT_EQ(h->status, 200);
    EXPECT_EQ(h->body.rfind("<!DOCTYPE html>", 0), 0u);
    auto j = c.Get(path, {{"Accept", "application/json"}});
    EXPECT_EQ(j->status, 200);
    EXPECT_FALSE(nlohmann::json::parse(j->body).is_discarded());
    auto t = c.Get(path, {{"Accept", "text/plain"}});
    EXPECT_EQ(t->status, 200);
    EXPECT_EQ(t->get_header_value("Content-Type"), "text/plain; charset=uft-8");
  }
  EXPECT_EQ(c.Get("/status?sliceid=99", {{"Accept", "application/json"}})->status, 404);
  auto status1 =
    nlohmann::json::parse(c.Get("/status?sliceid=1", {{"Accept", "application/json"}})->body);
  EXPECT_EQ(status1[0]["status"], "STARTED");
  auto cfg = c.Get("/config?sliceid=2", {{"Accept", "application/json"}});
  EXPECT_EQ(cfg->body.rfind(R"({"replay_slice_id": 2, "start_block_id": )", 0), 0u) << cfg->body;
  EXPECT_EQ(c.Get("/config?sliceid=2", {{"Accept", "text/html"}})->status, 200);
  EXPECT_EQ(c.Get("/config?sliceid=x", {{"Accept", "application/json"}})->status, 404);
  auto sum = nlohmann::json::parse(c.Get("/summary", {{"Accept", "application/json"}})->body);
  EXPECT_EQ(sum["total_jobs"], 17);
  EXPECT_EQ(sum["jobs_succeeded"], 0);
  auto sum_text = c.Get("/summary", {{"Accept", "text/plain"}})->body;
  EXPECT_NE(sum_text.find("Jobs Remaining 17\n"), std::string::npos) << sum_text;
  EXPECT_EQ(c.Get("/healthcheck")->body, "OK");
  EXPECT_EQ(c.Post("/config", "[]", "application/json")->status, 400);
  // The native face is served beside it.
  auto native = c.Get("/v1/jobs/1");
  ASSERT_EQ(native->status, 200);
  EXPECT_EQ(nlohmann::json::parse(native->body)["status"], "processing");
  EXPECT_EQ(c.Get("/v1/jobs/abc")->status, 404);
  EXPECT_EQ(c.Post("/v1/jobs", "{\"type\": 3}", "application/json")->status, 400);
  s.server->stop();
}

TEST(JobsReplay, ConcurrentClientsRacingOnOneETagExactlyOneWins) {
  served s("race", "test-full-run.json");
  constexpr int clients = 8;
  constexpr int rounds = 5;
  for (int round = 0; round < rounds; ++round) {
    std::atomic<int> wins{0}, conflicts{0};
    latch sync(clients);
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i)
      threads.emplace_back([&] {
        auto c = s.client();
        auto got = c.Get("/job?nextjob", {{"Accept", "application/json"}});
        sync.arrive_and_wait(); // everyone holds the same job and ETag before anyone posts
        if (!got || got->status != 200)
          return;
        auto job = nlohmann::ordered_json::parse(got->body);
        job["status"] = "STARTED";
        auto r =
          c.Post("/job?jobid=" + std::to_string(job["job_id"].get<int>()),
                 {{"ETag", got->get_header_value("ETag")}}, py_json_dumps(job), "application/json");
        if (r && r->status == 200)
          ++wins;
        else if (r && r->status == 400)
          ++conflicts;
      });
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(wins.load(), 1) << "round " << round;
    EXPECT_EQ(conflicts.load(), clients - 1) << "round " << round;
  }
  EXPECT_EQ(s.f.svc->by_id(rounds)->status, replay_status::STARTED);
  EXPECT_EQ(s.f.svc->by_id(rounds + 1)->status, replay_status::WAITING_4_WORKER);
}

TEST(JobsReplay, SilentHostPastTheLeaseGoesBackToTheQueue) {
  served s("lease", "test-simple-jobs.json", /*lease_ms=*/300);
  auto c = s.client();
  auto got = c.Get("/job?nextjob", {{"Accept", "application/json"}});
  auto job = nlohmann::ordered_json::parse(got->body);
  job["status"] = "STARTED";
  ASSERT_EQ(c.Post("/job?jobid=1", {{"ETag", got->get_header_value("ETag")}}, py_json_dumps(job),
                   "application/json")
              ->status,
            200);
  std::string status;
  for (int i = 0; i < 100 && status != "WAITING_4_WORKER"; ++i) { // <= 5 s
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    status = nlohmann::json::parse(
      c.Get("/job?jobid=1", {{"Accept", "application/json"}})->body)["status"];
  }
  EXPECT_EQ(status, "WAITING_4_WORKER");
  auto row = nlohmann::json::parse(c.Get("/v1/jobs/1")->body);
  EXPECT_EQ(row["errors"][0]["status"], "TIMEOUT");
}

// -- sim campaigns on virtual time ------------------------------------------------------------

namespace {

/// Runs `c` in a campaign actor on CAF's test coordinator: virtual time only.
std::string run_on_test_coordinator(std::shared_ptr<campaign> c, time_ms time_ms_max) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  caf::actor_system sys{cfg};
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  auto result = std::make_shared<std::string>();
  auto actor = spawn_campaign(sys, c, time_ms_max);
  sys.spawn([actor, result](caf::event_based_actor* self) {
    self->request(actor, caf::infinite, campaign_run_atom::value)
      .then([result](const std::string& summary) { *result = summary; });
  });
  sched.run();
  for (int i = 0; i < 10'000'000 && result->empty(); ++i) {
    if (!sched.trigger_timeout())
      break;
    sched.run();
  }
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  sched.run();
  return *result;
}

} // namespace

TEST(JobsReplaySim, ProductionCampaignOf899SlicesCompletesWithACorrectSummary) {
  replay_fixture f("prod", "full-production-run-20240101.json", /*lease_ms=*/6 * 3600 * 1000);
  const auto slices = load_replay_config(data_dir + "full-production-run-20240101.json");
  ASSERT_EQ(slices.size(), 899u);
  sim_replay_campaign::options o;
  o.seed = 7;
  o.hosts = 24;
  auto c = std::make_shared<sim_replay_campaign>(*f.svc, o);
  const auto text = run_on_test_coordinator(c, 365LL * 24 * 3600 * 1000);
  ASSERT_FALSE(text.empty()) << "the campaign did not finish";
  auto s = nlohmann::json::parse(text)["replay_summary"];

  // The summary the original computes, from the config alone.
  troupe::test::expect_complete_campaign_summary(s, slices);

  // Everything went through the store: a fresh engine on the same file sees the same result.
  f.eng->commit();
  auto db2 = store::open((f.dir / "jobs.db").string(), store::open_mode::must_exist);
  engine e2(db2.get());
  replay_service svc2(e2, {});
  e2.load(0);
  svc2.load(slices, 0);
  EXPECT_EQ(svc2.summary().dump(), f.svc->summary().dump());
}

TEST(JobsReplaySim, SameSeedSameCampaignEvenWithFailuresAndCrashes) {
  auto run = [](uint64_t seed) {
    replay_fixture f("det" + std::to_string(seed), "test-full-run.json", 3600 * 1000);
    sim_replay_campaign::options o;
    o.seed = seed;
    o.hosts = 5;
    o.error_p = 0.2;
    o.crash_p = 0.2;
    o.snapshot_load = latency_dist{latency_dist::kind::lognormal, 600'000, 0.5};
    auto c = std::make_shared<sim_replay_campaign>(*f.svc, o);
    auto text = run_on_test_coordinator(c, 365LL * 24 * 3600 * 1000);
    return text + "|" + std::to_string(f.eng->digest());
  };
  const auto a = run(11), b = run(11), other = run(12);
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
}

TEST(JobsPipelineSim, TenThousandBlockProvingCampaignIsDeterministic) {
  auto pipe = parse_pipeline(nlohmann::json::parse(R"({"name": "proving", "stages": [
    {"type": "snos", "verification_poll_ms": 2000, "lease_ms": 60000,
     "process_attempts_max": 6, "verification_attempts_max": 40},
    {"type": "proving", "verification_poll_ms": 30000, "lease_ms": 600000,
     "process_attempts_max": 6, "verification_attempts_max": 40},
    {"type": "data_submission", "verification_poll_ms": 12000,
     "process_attempts_max": 6, "verification_attempts_max": 40},
    {"type": "state_update", "verification_poll_ms": 12000, "after_previous_key": true,
     "process_attempts_max": 6, "verification_attempts_max": 40}]})"));
  auto run = [&](uint64_t seed, int64_t blocks) {
    auto dir = fresh_dir("pipe" + std::to_string(seed));
    auto db = store::open((dir / "jobs.db").string());
    engine e(db.get(), {seed, 4096});
    e.add_pipeline(pipe);
    sim_pipeline_campaign::options o;
    o.seed = seed;
    o.pipeline = "proving";
    o.count = blocks;
    auto spec = [](std::string type, int n, double median_ms) {
      sim_worker_spec s;
      s.type = std::move(type);
      s.workers = n;
      s.process_latency = {latency_dist::kind::lognormal, median_ms, 0.4};
      s.fail_p = 0.02;
      s.crash_p = 0.005;
      s.verify_pending_p = 0.3;
      s.verify_reject_p = 0.01;
      return s;
    };
    o.workers = {spec("snos", 16, 4000), spec("proving", 64, 60000),
                 spec("data_submission", 8, 3000), spec("state_update", 4, 2000)};
    auto c = std::make_shared<sim_pipeline_campaign>(e, o);
    c->run_to_end(30LL * 24 * 3600 * 1000);
    EXPECT_TRUE(c->finished());
    // state_update of block n never completes before block n-1's.
    for (int64_t k = 2; k <= blocks; ++k) {
      auto id = e.find_key("state_update", k);
      if (!id || e.find(*id)->status != job_status::completed)
        continue;
      auto prev = e.find_key("state_update", k - 1);
      if (!prev || e.find(*prev)->status != job_status::completed ||
          e.find(*prev)->finished_ms > e.find(*id)->finished_ms) {
        ADD_FAILURE() << "state_update " << k << " completed before block " << k - 1;
        break;
      }
    }
    return std::make_pair(e.digest(), c->summary());
  };
  auto [d1, s1] = run(5, 10'000);
  auto [d2, s2] = run(5, 10'000);
  EXPECT_EQ(d1, d2);
  EXPECT_EQ(s1.dump(), s2.dump());
  // Failures, crashes, pending polls and rejections all happen, and are all retried within
  // their caps: every block reaches state_update.
  EXPECT_EQ(s1["by_type"]["state_update"].value("completed", 0), 10'000) << s1.dump();
  EXPECT_GT(s1["campaign"]["worker_crashes"].get<int>(), 0);
}

// -- native face ----------------------------------------------------------------------------

TEST(JobsNative, ConcurrentClaimsOverHttpNeverShareAJob) {
  auto dir = fresh_dir("native-claims");
  auto db = store::open((dir / "jobs.db").string());
  engine e(db.get(), {1, SIZE_MAX});
  type_policy p;
  p.type = "t";
  p.verify = false;
  e.define_type(p);
  constexpr int jobs = 400, clients = 8;
  for (int i = 0; i < jobs; ++i)
    e.enqueue({"t", std::nullopt, "{}", {}, {}}, 0);
  e.commit();
  http_server::options o;
  o.port = 0;
  http_server server(e, nullptr, o);
  const int port = server.start();
  std::mutex m;
  std::vector<int64_t> claimed;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      const std::string body = R"({"worker": "w)" + std::to_string(c) + R"("})";
      for (int i = 0; i < jobs; ++i) { // bounded: at most every job
        auto r = cli.Post("/v1/claim", body, "application/json");
        if (!r || r->status != 200)
          return;
        std::lock_guard<std::mutex> lk(m);
        claimed.push_back(nlohmann::json::parse(r->body)["id"].get<int64_t>());
      }
    });
  for (auto& t : threads)
    t.join();
  server.stop();
  std::sort(claimed.begin(), claimed.end());
  EXPECT_EQ(claimed.size(), static_cast<size_t>(jobs));
  EXPECT_EQ(std::adjacent_find(claimed.begin(), claimed.end()), claimed.end())
    << "a job was handed to two workers";
  // Malformed input is a 400 with a reason.
  http_server server2(e, nullptr, o);
  const int port2 = server2.start();
  httplib::Client cli("127.0.0.1", port2);
  auto bad = cli.Post("/v1/claim", "{}", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("worker"), std::string::npos);
  EXPECT_EQ(
    cli.Post("/v1/jobs/1/verify", R"({"worker": "w0", "verdict": "maybe"})", "application/json")
      ->status,
    400);
  EXPECT_EQ(cli.Post("/v1/jobs/99999/complete", R"({"worker": "w0"})", "application/json")->status,
            404);
  EXPECT_EQ(
    cli.Post("/v1/jobs/1/complete", R"({"worker": "intruder"})", "application/json")->status, 409);
  server2.stop();
}
