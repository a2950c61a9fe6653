#include "report/report_file.hpp"

#include <fstream>
#include <stdexcept>
#include <system_error>

#include "actors/errors.hpp"
#include "actors/json_read.hpp"

namespace troupe {

nlohmann::json read_report_file(const std::filesystem::path& run_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(run_dir, ec))
    throw user_error(run_dir.string() + " is not a directory; pass a run directory written by "
                                        "`troupe run`");
  const auto file = run_dir / "report.json";
  if (!std::filesystem::is_regular_file(file, ec))
    throw user_error(run_dir.string() + " holds no report.json; pass a run directory written "
                                        "by `troupe run`");
  auto report = read_json_file(file, "report");
  if (!report.is_object() || !report.contains("verdict"))
    throw user_error(file.string() + " is not a troupe report (no \"verdict\"); pass a run "
                                     "directory written by `troupe run`");
  return report;
}

void write_file_atomic(const std::filesystem::path& path, const std::string& text) {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
    out << text;
    out.flush();
    if (!out)
      throw std::runtime_error("cannot write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    throw std::runtime_error("cannot write " + path.string() + ": " + ec.message());
}

} // namespace troupe
