// No client text becomes markup or code: what replay hosts post comes back from the HTML
// pages as text, and a command worker's payload reaches its command as data in every
// quoting context, or the template is refused before any task runs.

#include "actors/errors.hpp"
#include "jobs/http/http_server.hpp"
#include "jobs/replay/py_format.hpp"
#include "jobs/replay/replay.hpp"
#include "jobs/workers/workers.hpp"
#include "tests/support/paths.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>

using namespace troupe::jobs;
namespace fs = std::filesystem;

namespace {

const std::string data_dir = troupe::test::source_dir() + "/scenarios/data/replay-test/";
const std::string script = "<script>alert(1)</script>";
const std::string script_text = "&lt;script&gt;alert(1)&lt;/script&gt;";

/// A replay campaign served over loopback on a private copy of a config file.
struct served_replay {
  fs::path dir = troupe::test::fresh_dir("jobs-no-markup");
  std::unique_ptr<store> db;
  std::unique_ptr<engine> eng;
  std::unique_ptr<replay_service> svc;
  std::unique_ptr<http_server> server;
  int port = 0;
  served_replay() {
    fs::copy_file(data_dir + "test-simple-jobs.json", dir / "config.json");
    fs::permissions(dir / "config.json", fs::perms::owner_read | fs::perms::owner_write);
    db = store::open((dir / "jobs.db").string());
    eng = std::make_unique<engine>(db.get(), engine::options{1, SIZE_MAX});
    svc = std::make_unique<replay_service>(
      *eng, replay_service::options{0, (dir / "config.json").string()});
    svc->load(load_replay_config((dir / "config.json").string()), 0);
    server = std::make_unique<http_server>(*eng, svc.get(), http_server::options{});
    port = server->start();
  }
  ~served_replay() { server->stop(); }
};

/// A task whose payload field `x` holds `value`.
task task_with(const std::string& value) {
  task t;
  t.id = 7;
  t.type = "t";
  t.attempt = 1;
  t.key = 3;
  t.payload = nlohmann::json{{"x", value}}.dump();
  return t;
}

} // namespace

TEST(JobsNoMarkup, FieldsHostsPostComeBackFromTheHtmlPagesAsText) {
  served_replay s;
  httplib::Client c("127.0.0.1", s.port);
  const httplib::Headers json = {{"Accept", "application/json"}};
  auto got = c.Get("/job?jobid=1", json);
  ASSERT_TRUE(got);
  auto job = nlohmann::ordered_json::parse(got->body);
  job["status"] = "COMPLETE";
  job["end_time"] = script;
  job["actual_integrity_hash"] = script;
  ASSERT_EQ(c.Post("/job?jobid=1", {{"ETag", got->get_header_value("ETag")}}, py_json_dumps(job),
                   "application/json")
              ->status,
            200);
  // A host chains hashes through /config: the expected hash of slice 2 is host text too.
  const auto end2 = s.svc->by_id(2)->config.end_block_id;
  auto cfg =
    c.Post("/config", nlohmann::json{{"end_block_num", end2}, {"integrity_hash", script}}.dump(),
           "application/json");
  ASSERT_EQ(cfg->status, 200) << cfg->body;

  const httplib::Headers html = {{"Accept", "text/html"}};
  for (const char* path : {"/status", "/status?sliceid=1", "/config?sliceid=2", "/summary"}) {
    SCOPED_TRACE(path);
    auto page = c.Get(path, html);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->body.find("<script"), std::string::npos) << page->body;
  }
  auto status = c.Get("/status?sliceid=1", html)->body;
  EXPECT_NE(status.find("End Time: " + script_text), std::string::npos) << status;
  EXPECT_NE(status.find("Actual End Block Integrity Hash: " + script_text), std::string::npos);
  EXPECT_NE(c.Get("/config?sliceid=2", html)->body.find("Expected Integrity Hash: " + script_text),
            std::string::npos);
  // JSON and text answers keep the value exactly as posted.
  auto back = nlohmann::json::parse(c.Get("/job?jobid=1", json)->body);
  EXPECT_EQ(back["actual_integrity_hash"], script);
}

TEST(JobsNoMarkup, PayloadTextNeverRunsInAnyQuotingContext) {
  const auto dir = troupe::test::fresh_dir("jobs-no-markup-shell");
  const auto file = (dir / "PWNED").string();
  const std::string value = "a $(touch " + file + ") `touch " + file + "` \"q\" 'sq' \\ ${HOME}\n" +
                            "second line; touch " + file + " *";
  // Each template prints the value once; every one must print it exactly, and run nothing.
  for (const std::string tmpl : {
         "printf %s {payload.x}",
         "printf %s \"{payload.x}\"",
         "printf %s \"prefix:{payload.x}\"",
         "printf %s \"$(printf %s {payload.x})\"",
         "printf %s \"$(printf %s \"{payload.x}\")\"",
         "v=`printf %s {payload.x}`; printf %s \"$v\"",
         // A nested shell reads the variable the placeholder travels in.
         ": {payload.x}; sh -c 'printf %s \"$TROUPE_PAYLOAD_X\"'",
       }) {
    SCOPED_TRACE(tmpl);
    auto worker = command_worker(tmpl, 10'000);
    const auto r = worker(task_with(value));
    EXPECT_EQ(r.what, work_result::kind::ok) << r.detail;
    auto result = nlohmann::json::parse(r.result);
    const auto printed = result["stdout"].is_string() ? result["stdout"].get<std::string>() : "";
    EXPECT_EQ(printed, tmpl.find("prefix:") != std::string::npos ? "prefix:" + value : value);
    EXPECT_FALSE(fs::exists(file));
  }
  // The other placeholders travel the same way.
  auto worker = command_worker("printf '%s|%s|%s|%s' {id} {key} \"{phase}\" {attempt}", 10'000);
  auto r = nlohmann::json::parse(worker(task_with(value)).result);
  EXPECT_EQ(r["stdout"], "7|3|process|1");
}

TEST(JobsNoMarkup, TemplatesThatWouldNotReadAValueAsDataAreRefusedWithTheReason) {
  struct refused {
    std::string tmpl, reason;
  };
  for (const auto& [tmpl, reason] : std::vector<refused>{
         {"echo '{payload.x}'", "inside single quotes"},
         {"echo \"a\"'b {key}'", "inside single quotes"},
         {"echo $(( {key} + 1 ))", "arithmetic"},
         {"cat <<EOF\n{payload.x}\nEOF", "here-document"},
       }) {
    SCOPED_TRACE(tmpl);
    try {
      check_command_template(tmpl, "--command");
      ADD_FAILURE() << "accepted";
    } catch (const troupe::user_error& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind("--command: the placeholder {", 0), 0u) << what;
      EXPECT_NE(what.find(reason), std::string::npos) << what;
    }
    EXPECT_THROW(command_worker(tmpl, 1000), troupe::user_error);
  }
  // Text that only looks like a placeholder, and the shell's own ${X}, stay as written.
  EXPECT_NO_THROW(check_command_template("awk '{print $1}' | sed 's/{x}/y/' ; echo ${key}", "c"));
  // A replay host's command is checked against the replay job's fields.
  EXPECT_THROW(check_replay_command_template("replay '{end_block_num}'", "command"),
               troupe::user_error);
  EXPECT_NO_THROW(check_replay_command_template("replay {end_block_num} '{other}'", "command"));
  const auto cmd = expand_fields("run {snapshot_path}", nlohmann::json{{"snapshot_path", script}});
  EXPECT_EQ(cmd.script, "run \"${TROUPE_SNAPSHOT_PATH}\"");
  ASSERT_EQ(cmd.env.size(), 1u);
  EXPECT_EQ(cmd.env[0].second, script);
}
