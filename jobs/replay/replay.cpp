#include "jobs/replay/replay.hpp"

#include "actors/markup_escape.hpp"

#include "actors/json_read.hpp"
#include "jobs/bounded_json.hpp"

#include "jobs/replay/py_format.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <fstream>

namespace troupe::jobs {

namespace {

constexpr std::string_view replay_type = "replay";
constexpr const char* text_uft8 = "text/plain; charset=uft-8"; // sic: the original's header

constexpr std::string_view replay_status_names[] = {
  "WAITING_4_WORKER", "STARTED",       "LOADING_SNAPSHOT", "WORKING", "ERROR",
  "TIMEOUT",          "HASH_MISMATCH", "COMPLETE",
};

bool in_progress(replay_status s) {
  return s == replay_status::STARTED || s == replay_status::LOADING_SNAPSHOT ||
         s == replay_status::WORKING;
}

bool failed(replay_status s) {
  return s == replay_status::ERROR || s == replay_status::TIMEOUT ||
         s == replay_status::HASH_MISMATCH;
}

job_status engine_status(replay_status s) {
  if (s == replay_status::WAITING_4_WORKER)
    return job_status::created;
  if (in_progress(s))
    return job_status::processing;
  if (s == replay_status::COMPLETE)
    return job_status::completed;
  return job_status::failed;
}

nlohmann::ordered_json opt(const std::optional<std::string>& s) {
  return s ? nlohmann::ordered_json(*s) : nlohmann::ordered_json(nullptr);
}

std::string opt_text(const std::optional<std::string>& s) {
  return s ? *s : "None"; // what an f-string prints for None
}

/// Text for an HTML page: hosts post these fields, and none of them may become markup.
std::string html(const std::string& s) { return html_escape(s); }

std::optional<std::string> opt_from(const nlohmann::json& v) {
  if (v.is_string())
    return v.get<std::string>();
  return std::nullopt;
}

/// Python's `str(round(x, 0))` for the percentage: a float with one decimal.
std::string py_round0(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", std::nearbyint(x)); // ties to even, like round()
  return buf;
}

enum class format { text, json, html, none };

bool accepts(const http_request& r, std::string_view what) {
  auto a = r.header("Accept");
  return a && a->find(what) != std::string::npos;
}

bool accepts_text(const http_request& r) {
  return !r.header("Accept") || accepts(r, "text/plain") || accepts(r, "*/*");
}

http_response respond(int status, std::string body,
                      std::string type = "text/plain; charset=utf-8") {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(type);
  return r;
}

http_response not_found() { return respond(404, "Not found"); }

/// A request body read as JSON within the depth limit (`value` is discarded when it is not).
struct body_json {
  nlohmann::json value;
  bool too_deep = false;
};

body_json parse_body(const std::string& body) {
  std::string why;
  if (auto v = parse_json_bounded(body, why))
    return {std::move(*v), false};
  return {nlohmann::json(nlohmann::json::value_t::discarded),
          json_nesting_over(body) != std::string_view::npos};
}

/// The original's answer to a body that is no JSON object; a body refused for its depth
/// (which the original crashed on) says so after it.
http_response invalid_json(const body_json& b) {
  if (b.too_deep)
    return respond(400, "Invalid JSON data: the body nests arrays and objects deeper than " +
                          std::to_string(json_depth_max) + " levels");
  return respond(400, "Invalid JSON data");
}

std::optional<int64_t> parse_position(const std::optional<std::string>& s) {
  // Python's str.isnumeric(): digits only, no sign.
  if (!s || s->empty() || s->size() > 18)
    return std::nullopt;
  for (char c : *s)
    if (c < '0' || c > '9')
      return std::nullopt;
  return std::stoll(*s);
}

// -- page templates: the original's HTML and text, reproduced for byte compatibility ----

const char* status_html_header =
  "<!DOCTYPE html>\n<html>\n<head>\n<title>Chicken Dance Status Report</title>\n<style>\nul {\n"
  "    background: #e1e1e1;\n    border: 1px solid;\n    border-top: .5rem solid;\n"
  "    border-top-left-radius: 5px;\n    border-bottom-left-radius: 5px;\n"
  "    border-top-right-radius: 5px;\n    border-bottom-right-radius: 5px;\n    width: 32em;\n"
  "   }\nli { padding: .5em }\n</style>\n</head>\n\n<body>\n"
  "<h2><a href='/'>Home</a></h2>\n<h2>Chicken Dance Status Report</h2>\n";

const char* config_html_header =
  "<!DOCTYPE html>\n<html>\n<head>\n<title>Replay Config</title>\n<style>\nul {\n"
  "    background: #ADD8E6;\n    border: 1px solid;\n    border-color: #996666;\n"
  "    border-top: .5rem solid #996666;\n    border-top-left-radius: 5px;\n"
  "    border-bottom-left-radius: 5px;\n    border-top-right-radius: 5px;\n"
  "    border-bottom-right-radius: 5px;\n    width: 32em;\n   }\nli { padding: .5em }\n"
  "</style>\n</head>\n\n<body>\n<h2><a href='/'>Home</a></h2>\n<h2>Replay Config</h2>\n";

const char* summary_html_header =
  "<!DOCTYPE html>\n<html>\n<head>\n<title>Summary Report</title>\n<style>\nul {\n"
  "background: #d7e5fe;\nborder: 1px solid;\nborder-color: #f61e09;\n"
  "border-top: .5rem solid #f61e09;\nborder-top-left-radius: 5px;\n"
  "border-bottom-left-radius: 5px;\nborder-top-right-radius: 5px;\n"
  "border-bottom-right-radius: 5px;\nwidth: 32em;\n}\nli { padding: .5em }\nul.joblist {\n"
  "list-style-type: none;\npadding-inline-start: 0;\nwidth: 34.5em;\n}\nul.details {\n"
  "border: 0px solid;\nlist-style-type: none;\nmargin-left: 1em;\npadding: 0;\n}\n"
  "ul.details li {\ndisplay: inline-block;\nmargin-left: 0em;\nmargin-right: 2em;\npadding: 0;\n"
  "}\n</style>\n</head>\n\n<body>\n<h2><a href='/'>Home</a></h2>\n<h2>Summary Report</h2>\n";

const char* html_footer = "</body></html>";

std::string home_html() {
  std::string s = status_html_header;
  s += "\n        <!DOCTYPE html>\n<html>\n<body>\n<title>Chicken Dance Index Page</title>\n"
       "<h2>Chicken Dance Index Page</h2>\n"
       "<a href=\"/status\">Status</a>: shows current jobs and status of each job</br>\n"
       "<a href=\"/config?sliceid=1\">Config</a>: must specify a sliceid, detailed config "
       "supporting job</br>\n"
       "<a href=\"/summary\">Result Summary</a>: progress or final summary</br>\n"
       "Job: get and set job configuration. Requires jobid param. Not available on this page.\n"
       "</body>\n</html>\n        ";
  s += html_footer;
  return s;
}

std::string status_html(const replay_job& j) {
  return "        <ul>\n        <li> <a href=\"/config?sliceid=" + std::to_string(j.slice_id) +
         "\">Replay Slice Id: " + std::to_string(j.slice_id) + "</a></li>\n" +
         "        <li> Job Status: " + std::string(to_string(j.status)) + "</li>\n" +
         "        <li> Last Block Processed: " + std::to_string(j.last_block_processed) +
         "</li>\n" + "        <li> Start Time: " + html(opt_text(j.start_time)) + "</li>\n" +
         "        <li> End Time: " + html(opt_text(j.end_time)) + "</li>\n" +
         "        <li> Start Block: " + std::to_string(j.config.start_block_id) + "</li>\n" +
         "        <li> End Block: " + std::to_string(j.config.end_block_id) + "</li>\n" +
         "        <li> Actual End Block Integrity Hash: " +
         html(opt_text(j.actual_integrity_hash)) + "</li>\n" +
         "        <li> Expected End Block Integ Hash: " +
         html(opt_text(j.config.expected_integrity_hash)) + "</li>\n    </ul>\n";
}

std::string status_text(const replay_job& j) {
  return " Replay Slice Id: " + std::to_string(j.slice_id) +
         "\n    Job Status: " + std::string(to_string(j.status)) +
         "\n    Last Block Processed: " + std::to_string(j.last_block_processed) +
         "\n    Start Time: " + opt_text(j.start_time) + "\n    End Time: " + opt_text(j.end_time) +
         "\n    Start Block: " + std::to_string(j.config.start_block_id) +
         "\n    End Block: " + std::to_string(j.config.end_block_id) +
         "\n    Actual End Block Integrity Hash: " + opt_text(j.actual_integrity_hash) +
         "\n    Expected End Block Integ Hash: " + opt_text(j.config.expected_integrity_hash) +
         "\n";
}

nlohmann::ordered_json config_dict(const replay_job& j, bool with_id) {
  nlohmann::ordered_json d;
  if (with_id)
    d["replay_slice_id"] = j.slice_id;
  d["start_block_id"] = j.config.start_block_id;
  d["end_block_id"] = j.config.end_block_id;
  d["snapshot_path"] = j.config.snapshot_path;
  d["storage_type"] = j.config.storage_type;
  d["expected_integrity_hash"] = opt(j.config.expected_integrity_hash);
  d["leap_version"] = j.config.leap_version;
  return d;
}

std::string config_html(const replay_job& j) {
  std::string s = config_html_header;
  s += "        <ul>\n        <li> Replay Slice Id: " + std::to_string(j.slice_id) +
       "</li>\n        <li> Start Block Id: " + std::to_string(j.config.start_block_id) +
       "</li>\n        <li> End Block Id: " + std::to_string(j.config.end_block_id) +
       "</li>\n        <li> Snapshot Path: " + html(j.config.snapshot_path) +
       "</li>\n        <li> Storage Type: " + html(j.config.storage_type) +
       "</li>\n        <li> End Block Expected Integrity Hash: " +
       html(opt_text(j.config.expected_integrity_hash)) +
       "</li>\n        <li> Leap Version: " + html(j.config.leap_version) + "</li>\n    </ul>\n";
  s += html_footer;
  return s;
}

} // namespace

// -- config files ------------------------------------------------------------------

std::string_view to_string(replay_status s) noexcept {
  return replay_status_names[static_cast<int>(s)];
}

std::optional<replay_status> replay_status_from_string(std::string_view s) noexcept {
  for (int i = 0; i < 8; ++i)
    if (replay_status_names[i] == s)
      return static_cast<replay_status>(i);
  return std::nullopt;
}

std::vector<replay_slice> parse_replay_config(const nlohmann::json& doc) {
  std::vector<validation_error> errors;
  std::vector<replay_slice> out;
  if (!doc.is_array() || doc.empty())
    throw validation_failed(std::vector<validation_error>{
      {"", "a replay config must be a non-empty JSON array of slices"}});
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& e = doc[i];
    const std::string where = "[" + std::to_string(i) + "]";
    replay_slice s;
    if (!e.is_object()) {
      errors.push_back({where, "expected an object"});
      continue;
    }
    auto integer = [&](const char* name, int64_t& dst) {
      auto it = e.find(name);
      if (it != e.end() && it->is_number_integer()) {
        dst = it->get<int64_t>();
      } else if (it != e.end() && it->is_string() && parse_position(it->get<std::string>())) {
        dst = *parse_position(it->get<std::string>()); // Python's int() accepts "123"
      } else {
        errors.push_back({where + "." + name, "expected an integer block number"});
      }
    };
    auto text = [&](const char* name, std::string& dst) {
      auto it = e.find(name);
      if (it == e.end() || !it->is_string())
        errors.push_back({where + "." + name, "expected a string"});
      else
        dst = it->get<std::string>();
    };
    integer("start_block_id", s.start_block_id);
    integer("end_block_id", s.end_block_id);
    text("snapshot_path", s.snapshot_path);
    text("storage_type", s.storage_type);
    text("leap_version", s.leap_version);
    auto h = e.find("expected_integrity_hash");
    if (h == e.end() || !(h->is_string() || h->is_null()))
      errors.push_back({where + ".expected_integrity_hash", "expected a string or null"});
    else
      s.expected_integrity_hash = opt_from(*h);
    out.push_back(std::move(s));
  }
  if (!errors.empty())
    throw validation_failed(std::move(errors));
  return out;
}

std::vector<replay_slice> load_replay_config(const std::string& path) {
  const auto doc = read_json_file(path, "replay config");
  try {
    return parse_replay_config(doc);
  } catch (const validation_failed& e) {
    throw in_file(path, e);
  }
}

// -- service -----------------------------------------------------------------------------

replay_service::replay_service(engine& e, options o)
  : engine_(e)
  , opts_(std::move(o)) {
  // Define before engine::load(), so stored replay jobs are never queued for dispatch.
  type_policy p;
  p.type = std::string(replay_type);
  p.external = true;
  p.lease_ms = opts_.lease_ms > 0 ? opts_.lease_ms : p.lease_ms;
  engine_.define_type(p);
}

void replay_service::load(const std::vector<replay_slice>& slices, time_ms now) {
  jobs_.clear();
  index_.assign(1, 0);
  auto existing = engine_.list(std::nullopt, replay_type, SIZE_MAX);
  if (!existing.empty()) {
    if (existing.size() != slices.size())
      throw user_error("the job database '" +
                       (engine_.storage() ? engine_.storage()->path() : std::string("?")) +
                       "' holds a replay campaign of " + std::to_string(existing.size()) +
                       " slices but the config has " + std::to_string(slices.size()) +
                       ": pass the same config, or a new --db for a new campaign");
    for (const job* j : existing) {
      // Resume: the store is the truth (it holds hashes posted since the config was read).
      const auto p = nlohmann::json::parse(j->payload);
      const auto r = nlohmann::json::parse(j->result.empty() ? "{}" : j->result);
      replay_job rj;
      rj.id = j->id;
      rj.slice_id = p.at("replay_slice_id").get<int64_t>();
      rj.config.start_block_id = p.at("start_block_id").get<int64_t>();
      rj.config.end_block_id = p.at("end_block_id").get<int64_t>();
      rj.config.snapshot_path = p.at("snapshot_path").get<std::string>();
      rj.config.storage_type = p.at("storage_type").get<std::string>();
      rj.config.expected_integrity_hash = opt_from(p.at("expected_integrity_hash"));
      rj.config.leap_version = p.at("leap_version").get<std::string>();
      rj.status = replay_status_from_string(r.value("status", "WAITING_4_WORKER"))
                    .value_or(replay_status::ERROR);
      rj.last_block_processed = r.value("last_block_processed", int64_t{0});
      rj.start_time = opt_from(r.value("start_time", nlohmann::json()));
      rj.end_time = opt_from(r.value("end_time", nlohmann::json()));
      rj.actual_integrity_hash = opt_from(r.value("actual_integrity_hash", nlohmann::json()));
      rj.lease_expiry_ms = j->lease_expiry_ms;
      if (in_progress(rj.status) && opts_.lease_ms > 0 && rj.lease_expiry_ms == 0)
        rj.lease_expiry_ms = now + opts_.lease_ms;
      jobs_.push_back(std::move(rj));
    }
  } else {
    int64_t slice_id = 1;
    for (const auto& s : slices) {
      replay_job rj;
      rj.slice_id = slice_id++;
      rj.config = s;
      // As the original: start_time is the moment the job was created.
      rj.start_time = format_time(now);
      job j;
      j.type = std::string(replay_type);
      j.key = rj.slice_id;
      j.status = job_status::created;
      rj.id = engine_.insert_external(std::move(j), now);
      jobs_.push_back(std::move(rj));
      persist(jobs_.back(), now);
    }
    engine_.commit();
  }
  for (size_t i = 0; i < jobs_.size(); ++i) {
    if (index_.size() <= static_cast<size_t>(jobs_[i].id))
      index_.resize(static_cast<size_t>(jobs_[i].id) + 1, 0);
    index_[static_cast<size_t>(jobs_[i].id)] = i + 1;
  }
}

replay_job* replay_service::find(job_id id) {
  if (id < 1 || static_cast<size_t>(id) >= index_.size() || index_[static_cast<size_t>(id)] == 0)
    return nullptr;
  return &jobs_[index_[static_cast<size_t>(id)] - 1];
}

const replay_job* replay_service::by_id(job_id id) const {
  return const_cast<replay_service*>(this)->find(id);
}

bool replay_service::finished() const {
  for (const auto& j : jobs_)
    if (j.status == replay_status::WAITING_4_WORKER || in_progress(j.status))
      return false;
  return true;
}

nlohmann::ordered_json replay_service::job_dict(const replay_job& j) const {
  nlohmann::ordered_json d;
  d["job_id"] = j.id;
  d["replay_slice_id"] = j.slice_id;
  d["snapshot_path"] = j.config.snapshot_path;
  d["storage_type"] = j.config.storage_type;
  d["leap_version"] = j.config.leap_version;
  d["start_block_num"] = j.config.start_block_id;
  d["end_block_num"] = j.config.end_block_id;
  d["status"] = to_string(j.status);
  d["last_block_processed"] = j.last_block_processed;
  d["start_time"] = opt(j.start_time);
  d["end_time"] = opt(j.end_time);
  d["expected_integrity_hash"] = opt(j.config.expected_integrity_hash);
  d["actual_integrity_hash"] = opt(j.actual_integrity_hash);
  return d;
}

std::string replay_service::etag(const replay_job& j) const {
  return sha1_hex(py_repr(job_dict(j)));
}

void replay_service::reconcile(replay_job& j) {
  // Integrity chaining: a slice's expected hash is reported by the host that starts the next
  // slice, often after this one completed. Settle COMPLETE vs HASH_MISMATCH whenever either
  // side changes (the original settles it lazily while building /summary).
  if (j.status != replay_status::COMPLETE && j.status != replay_status::HASH_MISMATCH)
    return;
  const std::string expected = j.config.expected_integrity_hash.value_or("");
  const std::string actual = j.actual_integrity_hash.value_or("");
  if (expected.empty() && actual.empty())
    j.status = replay_status::ERROR;
  else if (j.config.expected_integrity_hash == j.actual_integrity_hash)
    j.status = replay_status::COMPLETE;
  else
    j.status = replay_status::HASH_MISMATCH;
}

void replay_service::persist(replay_job& j, time_ms now) {
  job* row = engine_.find_mutable(j.id);
  nlohmann::ordered_json p = config_dict(j, true);
  row->payload = p.dump();
  nlohmann::ordered_json r;
  r["status"] = to_string(j.status);
  r["last_block_processed"] = j.last_block_processed;
  r["start_time"] = opt(j.start_time);
  r["end_time"] = opt(j.end_time);
  r["actual_integrity_hash"] = opt(j.actual_integrity_hash);
  row->result = r.dump();
  row->lease_expiry_ms = j.lease_expiry_ms;
  engine_.changed(*row, engine_status(j.status), now);
}

void replay_service::write_config_file() const {
  if (opts_.config_path.empty())
    return;
  auto doc = nlohmann::ordered_json::array();
  for (const auto& j : jobs_)
    doc.push_back(config_dict(j, false));
  // json.dumps(indent=4) of the records, written atomically (rename over the old file).
  const std::string tmp = opts_.config_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << doc.dump(4, ' ', true);
    if (!out) {
      spdlog::error("cannot write replay config back to '{}': the hash is kept in the job "
                    "database",
                    opts_.config_path);
      return;
    }
  }
  if (std::rename(tmp.c_str(), opts_.config_path.c_str()) != 0)
    spdlog::error("cannot replace replay config '{}': the hash is kept in the job database",
                  opts_.config_path);
}

size_t replay_service::expire_leases(time_ms now) {
  size_t n = 0;
  for (auto& j : jobs_) {
    if (!in_progress(j.status) || j.lease_expiry_ms == 0 || j.lease_expiry_ms > now)
      continue;
    ++n;
    job* row = engine_.find_mutable(j.id);
    std::string entry = "{\"at_ms\":" + std::to_string(now) + ",\"status\":\"TIMEOUT\",\"was\":\"" +
                        std::string(to_string(j.status)) +
                        "\",\"error\":\"host silent for longer than the lease\"}";
    row->errors = row->errors.size() <= 2
                    ? "[" + entry + "]"
                    : row->errors.substr(0, row->errors.size() - 1) + "," + entry + "]";
    j.status = replay_status::WAITING_4_WORKER;
    j.lease_expiry_ms = 0;
    persist(j, now);
  }
  return n;
}

outcome replay_service::retry(job_id id, time_ms now) {
  replay_job* j = find(id);
  if (!j)
    return outcome::not_found;
  if (!failed(j->status))
    return outcome::wrong_state;
  j->status = replay_status::WAITING_4_WORKER;
  j->lease_expiry_ms = 0;
  persist(*j, now);
  return outcome::ok;
}

// -- summary -------------------------------------------------------------------------------

nlohmann::ordered_json replay_service::summary() const {
  nlohmann::ordered_json r;
  int64_t total_blocks = 0, processed = 0, total = 0, succeeded = 0, nfailed = 0;
  auto failed_jobs = nlohmann::ordered_json::array();
  for (const auto& j : jobs_) {
    // The original's arithmetic, including skipping slices that start at block 0.
    if (j.config.end_block_id > j.config.start_block_id && j.config.start_block_id > 0)
      total_blocks += j.config.end_block_id - j.config.start_block_id;
    if (j.last_block_processed > 0)
      processed += j.last_block_processed - j.config.start_block_id;
    ++total;
    if (j.status == replay_status::COMPLETE)
      ++succeeded;
    if (failed(j.status)) {
      ++nfailed;
      nlohmann::ordered_json f;
      f["status"] = to_string(j.status);
      f["jobid"] = j.id;
      f["configid"] = j.slice_id;
      failed_jobs.push_back(f);
    }
  }
  r["total_blocks"] = total_blocks;
  r["blocks_processed"] = processed;
  r["total_jobs"] = total;
  r["jobs_succeeded"] = succeeded;
  r["jobs_failed"] = nfailed;
  r["failed_jobs"] = failed_jobs;
  return r;
}

std::string replay_service::summary_text() const {
  const auto r = summary();
  const auto tb = r["total_blocks"].get<int64_t>(), bp = r["blocks_processed"].get<int64_t>();
  const auto remaining = r["total_jobs"].get<int64_t>() - r["jobs_succeeded"].get<int64_t>() -
                         r["jobs_failed"].get<int64_t>();
  std::string s = "      SUMMARY REPORT              \n-------------------------------------\n";
  s += std::to_string(bp) + " blocks processed out of " + std::to_string(tb) + " ";
  s += " " + py_round0(tb ? static_cast<double>(bp) * 100.0 / static_cast<double>(tb) : 0.0) +
       "% block processed\n";
  s += "Completed Jobs Succeeded " + std::to_string(r["jobs_succeeded"].get<int64_t>()) +
       " Completed Jobs Failed " + std::to_string(r["jobs_failed"].get<int64_t>()) + "\n";
  s += "Jobs Remaining " + std::to_string(remaining) + "\n";
  if (!r["failed_jobs"].empty()) {
    s += "-------------FAILED JOBS-------------\n";
    for (const auto& f : r["failed_jobs"])
      s += "Job Id " + std::to_string(f["jobid"].get<int64_t>()) + "\tConfig Id " +
           std::to_string(f["configid"].get<int64_t>()) + "\tCurrent Status " +
           f["status"].get<std::string>() + "\n";
  }
  s += "--------------- END ------------------\n";
  return s;
}

std::string replay_service::summary_html() const {
  const auto r = summary();
  const auto tb = r["total_blocks"].get<int64_t>(), bp = r["blocks_processed"].get<int64_t>();
  const auto remaining = r["total_jobs"].get<int64_t>() - r["jobs_succeeded"].get<int64_t>() -
                         r["jobs_failed"].get<int64_t>();
  std::string s = summary_html_header;
  s += "<ul>\n";
  s += "<li>" + std::to_string(bp) + " blocks processed out of " + std::to_string(tb) + "</li>\n";
  s += "<li>" + py_round0(tb ? static_cast<double>(bp) * 100.0 / static_cast<double>(tb) : 0.0) +
       "% block processed</li>\n";
  s += "<li>Completed Jobs Succeeded " + std::to_string(r["jobs_succeeded"].get<int64_t>()) +
       "</li>\n";
  s += "<li>Completed Jobs Failed " + std::to_string(r["jobs_failed"].get<int64_t>()) + "</li>\n";
  s += "<li>Jobs Remaining " + std::to_string(remaining) + "</li>\n";
  s += "</ul>\n";
  if (!r["failed_jobs"].empty()) {
    s += "<h3>Failed Jobs</h3>\n<ul class='joblist'>\n";
    for (const auto& f : r["failed_jobs"]) {
      const auto cfg = std::to_string(f["configid"].get<int64_t>());
      s += "         <li>\n            <ul class='details'>\n            <li><a "
           "href=\"/status?sliceid=" +
           cfg + "\">Job " + std::to_string(f["jobid"].get<int64_t>()) +
           "</a></li>\n            <li><a href=\"/config?sliceid=" + cfg + "\">Config " + cfg +
           "</a></li>\n            <li>Current Status " + html(f["status"].get<std::string>()) +
           "</li>\n            </ul>\n        </li>\n";
    }
    s += "</ul>\n";
  }
  s += html_footer;
  return s;
}

// -- protocol ---------------------------------------------------------------------------

http_response replay_service::handle(const http_request& req, time_ms now) {
  if (req.path == "/job") {
    if (req.method == "GET")
      return get_job(req);
    if (req.method == "POST")
      return post_job(req, now);
  } else if (req.path == "/status") {
    if (req.method == "GET")
      return get_status(req);
  } else if (req.path == "/config") {
    if (req.method == "GET" && req.has_param("sliceid"))
      return get_config(req);
    if (req.method == "POST")
      return post_config(req, now);
  } else if (req.path == "/healthcheck") {
    return respond(200, "OK", text_uft8);
  } else if (req.path == "/") {
    return respond(200, home_html(), "text/html");
  } else if (req.path == "/summary") {
    return get_summary(req);
  }
  return not_found();
}

http_response replay_service::get_job(const http_request& req) {
  const replay_job* j = nullptr;
  if (auto id = req.param("jobid")) {
    if (auto n = parse_position(id))
      j = find(*n);
  } else if (req.has_param("nextjob")) {
    for (const auto& c : jobs_)
      if (c.status == replay_status::WAITING_4_WORKER) {
        j = &c;
        break;
      }
  } else {
    auto r = respond(301, "");
    r.headers.emplace_back("Location", "/job?nextjob");
    return r;
  }
  if (!j)
    return respond(404, "Could not find job");
  http_response r;
  if (accepts_text(req)) {
    const auto d = job_dict(*j);
    // str(job): `key=value, ...` with None for null, strings unquoted.
    std::string body;
    for (const auto& [k, v] : d.items()) {
      if (!body.empty())
        body += ", ";
      body += k + "=" +
              (v.is_string() ? v.get<std::string>()
               : v.is_null() ? std::string("None")
                             : v.dump());
    }
    r = respond(200, std::move(body), "text/plain; charset=utf-8");
  } else if (accepts(req, "application/json")) {
    r = respond(200, py_json_dumps(job_dict(*j)), "application/json");
  } else {
    return not_found();
  }
  r.headers.emplace_back("ETag", etag(*j));
  return r;
}

http_response replay_service::post_job(const http_request& req, time_ms now) {
  auto id_text = req.param("jobid");
  if (!id_text || id_text->empty())
    return respond(404, "jobid parameter is missing");
  auto id = parse_position(id_text);
  replay_job* j = id ? find(*id) : nullptr;
  if (!j)
    return respond(404, "Could not find job");
  if (req.header("ETag").value_or("") != etag(*j))
    return respond(400, "Invalid ETag");
  const auto body = parse_body(req.body);
  const auto& data = body.value;
  if (!data.is_object() || data.empty())
    return invalid_json(body);
  auto st = data.find("status");
  if (st == data.end() || st->is_null())
    return respond(400, "Invalid job JSON data");
  std::optional<replay_status> status;
  if (st->is_string())
    status = replay_status_from_string(st->get<std::string>());
  if (!status) {
    std::string allowed;
    for (auto n : replay_status_names)
      allowed += (allowed.empty() ? "" : ", ") + std::string(n);
    return respond(400, "Invalid status " + excerpt_json(*st) + "; allowed: " + allowed);
  }
  // Apply (all checks passed: a request changes everything it asks for or nothing).
  j->status = *status;
  if (auto it = data.find("last_block_processed"); it != data.end()) {
    if (it->is_number_integer())
      j->last_block_processed = it->get<int64_t>();
    else if (it->is_string() && parse_position(it->get<std::string>()))
      // Real hosts send the number as a string (argparse type=str); the original ignores it,
      // which leaves progress at 0. Accepting digits is the one deliberate difference.
      j->last_block_processed = *parse_position(it->get<std::string>());
  }
  if (auto it = data.find("end_time"); it != data.end())
    j->end_time = opt_from(*it);
  if (auto it = data.find("actual_integrity_hash"); it != data.end())
    j->actual_integrity_hash = opt_from(*it);
  if (*status == replay_status::STARTED)
    j->start_time = format_time(now);
  j->lease_expiry_ms = in_progress(*status) && opts_.lease_ms > 0 ? now + opts_.lease_ms : 0;
  reconcile(*j);
  persist(*j, now);
  auto r = respond(200, py_json_dumps({{"status", "updated"}}), "application/json");
  r.headers.emplace_back("ETag", etag(*j));
  return r;
}

http_response replay_service::get_status(const http_request& req) {
  std::vector<const replay_job*> results;
  if (auto s = req.param("sliceid"); s && !s->empty()) {
    auto pos = parse_position(s);
    if (!pos || *pos < 1 || static_cast<size_t>(*pos) > jobs_.size())
      return not_found();
    results.push_back(&jobs_[static_cast<size_t>(*pos - 1)]);
  } else {
    for (const auto& j : jobs_)
      results.push_back(&j);
  }
  if (accepts(req, "text/html")) {
    std::string s = status_html_header;
    for (auto* j : results)
      s += status_html(*j);
    s += html_footer;
    return respond(200, std::move(s), "text/html");
  }
  if (accepts(req, "application/json")) {
    auto arr = nlohmann::ordered_json::array();
    for (auto* j : results)
      arr.push_back(job_dict(*j));
    return respond(200, py_json_dumps(arr), "application/json");
  }
  if (accepts_text(req)) {
    // The original sends its HTML page here; we send the text report its templates define.
    std::string s = "      JOB REPORT              \n-------------------------------------\n";
    for (auto* j : results)
      s += status_text(*j);
    s += "--------------- END ------------------\n";
    return respond(200, std::move(s), text_uft8);
  }
  return not_found();
}

http_response replay_service::get_config(const http_request& req) {
  auto pos = parse_position(req.param("sliceid"));
  if (!pos || *pos < 1 || static_cast<size_t>(*pos) > jobs_.size())
    return not_found();
  const auto& j = jobs_[static_cast<size_t>(*pos - 1)];
  if (accepts(req, "text/html"))
    return respond(200, config_html(j), "text/html");
  if (!req.header("Accept") || accepts(req, "application/json") || accepts(req, "*/*"))
    return respond(200, py_json_dumps(config_dict(j, true)), "application/json");
  return not_found();
}

http_response replay_service::post_config(const http_request& req, time_ms now) {
  const auto body = parse_body(req.body);
  const auto& data = body.value;
  if (!data.is_object() || data.empty())
    return invalid_json(body);
  auto b = data.find("end_block_num");
  auto h = data.find("integrity_hash");
  std::optional<int64_t> block;
  if (b != data.end() && b->is_number_integer())
    block = b->get<int64_t>();
  else if (b != data.end() && b->is_string())
    block = parse_position(b->get<std::string>());
  if (!block || h == data.end() || !(h->is_string() || h->is_null()))
    return respond(400, "Invalid JSON data: expected {\"end_block_num\": <integer>, "
                        "\"integrity_hash\": <string>}");
  replay_job* target = nullptr;
  for (auto& j : jobs_)
    if (j.config.end_block_id == *block) {
      target = &j;
      break;
    }
  if (!target)
    return respond(404, "Config Record with " + std::to_string(*block) + " Not found");
  target->config.expected_integrity_hash = opt_from(*h);
  reconcile(*target);
  persist(*target, now);
  write_config_file();
  nlohmann::ordered_json msg;
  msg["sliceid"] = target->slice_id;
  msg["message"] = "updated integrity hash";
  return respond(200, py_json_dumps(msg), "application/json");
}

http_response replay_service::get_summary(const http_request& req) {
  if (accepts(req, "text/html"))
    return respond(200, summary_html(), "text/html");
  if (accepts(req, "application/json"))
    return respond(200, py_json_dumps(summary()), "application/json");
  if (accepts_text(req))
    return respond(200, summary_text(), text_uft8);
  return not_found();
}

} // namespace troupe::jobs
