#include "jobs/store.hpp"

#include "jobs/pg_store.hpp"
#include "jobs/sqlite_store.hpp"
#include "jobs/store_rows.hpp"

#include <nlohmann/json.hpp>

namespace troupe::jobs {

bool store::is_postgres_url(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::unique_ptr<store> store::open(const std::string& location, open_mode mode) {
  if (is_postgres_url(location))
    return pg_store::open(location, mode);
  return sqlite_store::open(location, mode);
}

void store::write(const std::vector<job>& jobs) {
  std::vector<const job*> rows;
  rows.reserve(jobs.size());
  for (const auto& j : jobs)
    rows.push_back(&j);
  write(rows);
}

namespace detail {

std::string deps_to_text(const job& j) {
  if (j.depends_on.empty() && j.after.empty())
    return "";
  nlohmann::json d;
  d["ids"] = j.depends_on;
  auto& after = d["after"] = nlohmann::json::array();
  for (const auto& a : j.after)
    after.push_back({a.type, a.key});
  return d.dump();
}

void deps_from_text(const std::string& text, job& j) {
  if (text.empty())
    return;
  auto d = nlohmann::json::parse(text);
  j.depends_on = d.at("ids").get<std::vector<job_id>>();
  for (const auto& a : d.at("after"))
    j.after.push_back({a.at(0).get<std::string>(), a.at(1).get<int64_t>()});
}

} // namespace detail

} // namespace troupe::jobs
