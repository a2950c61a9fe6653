// The engine's state machine, table-driven: each row is a script of worker operations and
// the status the job must reach.

#include "jobs/engine.hpp"

#include <gtest/gtest.h>

#include "tests/jobs/store_param.hpp"
#include "tests/support/paths.hpp"
#include <filesystem>
#include <fstream>

using namespace troupe::jobs;

namespace {

type_policy policy(const std::string& type) {
  type_policy p;
  p.type = type;
  p.process_attempts_max = 2;
  p.verification_attempts_max = 2;
  p.verification_poll_ms = 10;
  p.backoff_base_ms = 5;
  p.backoff_jitter = 0;
  p.lease_ms = 100;
  return p;
}

enum class op { complete, fail, pass, pending, reject, expire };

struct row {
  const char* name;
  std::vector<op> script;
  job_status want;
  int want_process_attempts;
};

/// Claims whatever is due (jumping time forward to the next due moment) and applies `o`.
void apply(engine& e, job_id id, op o, time_ms& now) {
  std::optional<task> t;
  for (int i = 0; i < 10 && !t; ++i) {
    t = e.claim("t", "w", now);
    if (!t)
      now = e.next_due().value_or(now + 1);
  }
  ASSERT_TRUE(t) << "nothing to claim";
  ASSERT_EQ(t->id, id);
  switch (o) {
    case op::complete:
      ASSERT_EQ(t->which, phase::process);
      EXPECT_EQ(e.complete(id, "w", "{\"ok\":1}", now), outcome::ok);
      break;
    case op::fail:
      EXPECT_EQ(e.fail(id, "w", "boom", now), outcome::ok);
      break;
    case op::pass:
      ASSERT_EQ(t->which, phase::verify);
      EXPECT_EQ(e.verify(id, "w", verdict::pass, "", now), outcome::ok);
      break;
    case op::pending:
      ASSERT_EQ(t->which, phase::verify);
      EXPECT_EQ(e.verify(id, "w", verdict::pending, "", now), outcome::ok);
      break;
    case op::reject:
      ASSERT_EQ(t->which, phase::verify);
      EXPECT_EQ(e.verify(id, "w", verdict::reject, "bad proof", now), outcome::ok);
      break;
    case op::expire:
      now = t->lease_expiry_ms;
      EXPECT_EQ(e.expire_leases(now), 1u);
      break;
  }
}

} // namespace

TEST(JobsEngine, StateMachineTable) {
  const std::vector<row> rows = {
    {"process then pass", {op::complete, op::pass}, job_status::completed, 1},
    {"one failure, then success", {op::fail, op::complete, op::pass}, job_status::completed, 2},
    {"failures exhaust attempts", {op::fail, op::fail}, job_status::failed, 2},
    {"pending then pass", {op::complete, op::pending, op::pass}, job_status::completed, 1},
    {"pending past the poll cap", {op::complete, op::pending, op::pending}, job_status::failed, 1},
    {"reject goes back to processing",
     {op::complete, op::reject, op::complete, op::pass},
     job_status::completed,
     2},
    {"reject after the last attempt",
     {op::complete, op::reject, op::complete, op::reject},
     job_status::failed,
     2},
    {"lease expiry re-queues", {op::expire, op::complete, op::pass}, job_status::completed, 2},
    {"lease expiry twice fails", {op::expire, op::expire}, job_status::failed, 2},
    {"verify lease expiry polls again",
     {op::complete, op::expire, op::pass},
     job_status::completed,
     1},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    engine e(nullptr);
    e.define_type(policy("t"));
    time_ms now = 0;
    auto id = e.enqueue({"t", std::nullopt, "{}", {}, {}}, now);
    for (op o : r.script)
      apply(e, id, o, now);
    EXPECT_EQ(e.find(id)->status, r.want);
    EXPECT_EQ(e.find(id)->process_attempts, r.want_process_attempts);
    EXPECT_TRUE(e.quiescent());
  }
}

TEST(JobsEngine, LeaseOwnershipAndDuplicates) {
  engine e(nullptr);
  e.define_type(policy("t"));
  auto id = e.enqueue({"t", std::nullopt, "{}", {}, {}}, 0);
  auto t = e.claim("t", "a", 0);
  ASSERT_TRUE(t);
  EXPECT_FALSE(e.claim("t", "b", 0)) << "one job is never handed to two workers";
  EXPECT_EQ(e.complete(id, "b", "", 1), outcome::not_owner);
  EXPECT_EQ(e.complete(id, "a", "", 1), outcome::ok);
  EXPECT_EQ(e.complete(id, "a", "", 2), outcome::duplicate);
  EXPECT_EQ(e.complete(999, "a", "", 2), outcome::not_found);
  EXPECT_EQ(e.heartbeat(id, "a", 2), outcome::wrong_state);
}

TEST(JobsEngine, FailureQueueAndManualRetry) {
  engine e(nullptr);
  auto p = policy("t");
  p.process_attempts_max = 1;
  p.verify = false;
  e.define_type(p);
  auto id = e.enqueue({"t", std::nullopt, "{}", {}, {}}, 0);
  ASSERT_TRUE(e.claim("t", "w", 0));
  e.fail(id, "w", "disk full", 1);
  ASSERT_EQ(e.list(job_status::failed).size(), 1u);
  EXPECT_NE(e.find(id)->errors.find("disk full"), std::string::npos);
  EXPECT_EQ(e.retry(id, 2), outcome::ok);
  ASSERT_TRUE(e.claim("t", "w", 2));
  EXPECT_EQ(e.complete(id, "w", "", 3), outcome::ok);
  EXPECT_EQ(e.find(id)->status, job_status::completed);
  EXPECT_EQ(e.retry(id, 4), outcome::wrong_state);
}

TEST(JobsEngine, ConcurrencyCapAndExplicitDependencies) {
  engine e(nullptr);
  auto p = policy("t");
  p.concurrency_max = 1;
  p.verify = false;
  e.define_type(p);
  auto a = e.enqueue({"t", std::nullopt, "{}", {}, {}}, 0);
  auto b = e.enqueue({"t", std::nullopt, "{}", {a}, {}}, 0);
  auto c = e.enqueue({"t", std::nullopt, "{}", {}, {}}, 0);
  EXPECT_EQ(e.find(b)->status, job_status::waiting);
  auto t1 = e.claim("t", "w1", 0);
  ASSERT_TRUE(t1);
  EXPECT_EQ(t1->id, a);
  EXPECT_FALSE(e.claim("t", "w2", 0)) << "concurrency cap";
  e.complete(a, "w1", "", 1);
  EXPECT_EQ(e.find(b)->status, job_status::created);
  EXPECT_EQ(e.claim("t", "w2", 1)->id, c) << "FIFO: c was ready before b";
  EXPECT_THROW(e.enqueue({"t", std::nullopt, "{}", {42}, {}}, 1), troupe::user_error);
  EXPECT_THROW(e.enqueue({"nope", std::nullopt, "{}", {}, {}}, 1), troupe::user_error);
}

TEST(JobsEngine, ProvingPipelineChainsStagesAndOrdersStateUpdates) {
  auto p = parse_pipeline(nlohmann::json::parse(R"({"name": "proving", "stages": [
    {"type": "snos", "verify": false}, {"type": "proving", "verify": false},
    {"type": "data_submission", "verify": false},
    {"type": "state_update", "verify": false, "after_previous_key": true}]})"));
  engine e(nullptr);
  e.add_pipeline(p);
  // Blocks arrive newest first, so the FIFO queues serve 3 and 2 before 1.
  for (int64_t k = 3; k >= 1; --k)
    e.enqueue_pipeline("proving", k, "{}", 0);
  auto run = [&](const std::string& type, int64_t key) {
    auto t = e.claim(type, "w", 0);
    ASSERT_TRUE(t) << type << " " << key;
    ASSERT_EQ(t->key, key) << type;
    EXPECT_EQ(e.complete(t->id, "w", "", 0), outcome::ok);
  };
  for (int64_t k : {3, 2})
    for (auto s : {"snos", "proving", "data_submission"})
      run(s, k);
  EXPECT_EQ(e.find(*e.find_key("state_update", 3))->status, job_status::waiting);
  EXPECT_EQ(e.find(*e.find_key("state_update", 2))->status, job_status::waiting);
  for (auto s : {"snos", "proving", "data_submission"})
    run(s, 1);
  EXPECT_EQ(e.find(*e.find_key("state_update", 1))->status, job_status::created);
  run("state_update", 1);
  EXPECT_EQ(e.find(*e.find_key("state_update", 2))->status, job_status::created);
  EXPECT_EQ(e.find(*e.find_key("state_update", 3))->status, job_status::waiting);
}

TEST(JobsEngine, BadPipelineListsEveryProblem) {
  try {
    parse_pipeline(nlohmann::json::parse(
      R"({"stages": [{"type": "a", "lease_ms": 0}, {"type": "a", "bogus": 1}]})"));
    FAIL() << "expected validation_failed";
  } catch (const troupe::validation_failed& e) {
    EXPECT_GE(e.errors().size(), 4u) << e.what();
  }
}

/// The store tests run against both stores (tests/jobs/store_param.hpp).
class JobsStores : public testing::TestWithParam<std::string> {};

TEST_P(JobsStores, SurviveReopenAndRebuildTheIndex) {
  TROUPE_STORE_OR_SKIP(path, GetParam(), "jobs-store-test");
  {
    auto s = store::open(path);
    engine e(s.get());
    e.define_type(policy("t"));
    auto a = e.enqueue({"t", 7, "{\"x\":1}", {}, {}}, 0);
    e.enqueue({"t", 8, "{}", {a}, {}}, 0);
    ASSERT_TRUE(e.claim("t", "w", 0));
    e.commit();
  }
  auto s = store::open(path, store::open_mode::must_exist);
  engine e(s.get());
  e.define_type(policy("t"));
  e.load(10);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e.find(1)->status, job_status::processing);
  EXPECT_EQ(e.find(1)->lease_owner, "w");
  EXPECT_EQ(e.find(2)->status, job_status::waiting);
  EXPECT_EQ(e.find_key("t", 7), 1);
  EXPECT_EQ(e.complete(1, "w", "", 11), outcome::ok) << "a claim survives a restart";
}

TEST_P(JobsStores, KeepEveryFieldOfAJobAndItsTokensAndMeta) {
  TROUPE_STORE_OR_SKIP(path, GetParam(), "jobs-store-fields");
  job j;
  j.id = 1;
  j.type = std::string("t\0\xff", 3); // any bytes a client sends come back as sent
  j.key = -5;
  j.status = job_status::pending_verification;
  j.process_attempts = 3;
  j.verification_attempts = 2;
  j.lease_owner = "w\"'<>";
  j.lease_expiry_ms = 1LL << 50;
  j.not_before_ms = 7;
  j.created_ms = 1;
  j.updated_ms = 2;
  j.finished_ms = 3;
  j.completions = 1;
  j.depends_on = {4, 5};
  j.after = {{"prev", 9}};
  j.payload = R"({"a":"\u0000"})";
  j.result = std::string("r\0", 2);
  j.errors = "[]";
  j.fence = 1LL << 40;
  job k;
  k.id = 2;
  k.type = "u";
  {
    auto s = store::open(path);
    s->write(std::vector<job>{j, k});
    s->set_meta("m", "v1");
    s->set_meta("m", "v2");
    s->add_token("digest", "worker", 5);
    EXPECT_EQ(s->rows_written(), 2u);
    EXPECT_EQ(s->commits(), 1u);
  }
  auto s = store::open(path, store::open_mode::must_exist);
  auto rows = s->load_all();
  ASSERT_EQ(rows.size(), 2u);
  const auto& r = rows[0];
  EXPECT_EQ(r.type, j.type);
  EXPECT_EQ(r.key, j.key);
  EXPECT_EQ(r.status, j.status);
  EXPECT_EQ(r.process_attempts, 3);
  EXPECT_EQ(r.verification_attempts, 2);
  EXPECT_EQ(r.lease_owner, j.lease_owner);
  EXPECT_EQ(r.lease_expiry_ms, j.lease_expiry_ms);
  EXPECT_EQ(r.not_before_ms, 7);
  EXPECT_EQ(r.created_ms, 1);
  EXPECT_EQ(r.updated_ms, 2);
  EXPECT_EQ(r.finished_ms, 3);
  EXPECT_EQ(r.completions, 1);
  EXPECT_EQ(r.depends_on, j.depends_on);
  ASSERT_EQ(r.after.size(), 1u);
  EXPECT_EQ(r.after[0].type, "prev");
  EXPECT_EQ(r.payload, j.payload);
  EXPECT_EQ(r.result, j.result);
  EXPECT_EQ(r.fence, j.fence);
  EXPECT_FALSE(rows[1].key);
  EXPECT_EQ(s->meta("m"), "v2");
  EXPECT_EQ(s->meta("schema_version"), "4");
  EXPECT_FALSE(s->meta("absent"));
  ASSERT_EQ(s->tokens().size(), 1u);
  EXPECT_EQ(s->tokens()[0].second, "worker");
}

INSTANTIATE_TEST_SUITE_P(Stores, JobsStores, troupe::test::both_stores(), troupe::test::store_name);

TEST(JobsStore, MissingOrCorruptFileIsOneClearError) {
  const auto dir = troupe::test::fresh_dir("jobs-corrupt-test");
  EXPECT_THROW(store::open((dir / "missing.db").string(), store::open_mode::must_exist),
               troupe::user_error);
  const auto bad = (dir / "bad.db").string();
  {
    std::ofstream out(bad);
    for (int i = 0; i < 500; ++i)
      out << "this is not a database ";
  }
  try {
    store::open(bad);
    FAIL();
  } catch (const troupe::user_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.db"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--db"), std::string::npos) << e.what();
  }
}
