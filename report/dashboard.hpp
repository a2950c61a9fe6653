#pragma once
// The live dashboard of `troupe run --serve PORT`: a small page on 127.0.0.1 that refreshes
// its figures and charts every second from a JSON endpoint. It reads the run's live_status
// from its own threads and never writes to the run.
//
//   GET /             the page (self-contained: inline CSS, JS and SVG; the current values
//                     are rendered into it, so it reads right even before its script runs)
//   GET /api/status   live_snapshot::to_json()

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "actors/live_snapshot.hpp"

namespace httplib {
class Server;
}

namespace troupe {

class dashboard {
public:
  /// What a dashboard serves; both are called on the server's threads.
  struct views {
    std::function<std::string()> page;        ///< GET /
    std::function<std::string()> status_json; ///< GET /api/status
    std::string server = "dashboard";         ///< label of troupe_http_requests_total
    std::string flag = "--serve";             ///< named in the error when the port is busy
  };

  // -- constructors -----------------------------------------------------------

  /// Binds 127.0.0.1:`port` (0: any free port) and serves until destroyed. Throws user_error
  /// when the port cannot be bound.
  dashboard(views v, int port);
  /// The dashboard of a run (`troupe run --serve`).
  dashboard(std::shared_ptr<const live_status> status, int port);
  ~dashboard();

  // -- properties -------------------------------------------------------------

  int port() const noexcept { return port_; }

private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

/// The page, with `s` rendered into it.
std::string dashboard_page(const live_snapshot& s);

/// Shared by the dashboards' pages: the style sheet, and a script defining `$`, `fmt(x)`,
/// `chart(svgId, times, [{n: name, c: colour, v: values}, ...])` and `rates(values)`.
extern const char* const dashboard_style;
extern const char* const dashboard_chart_script;
/// `json` made safe to embed in a <script> element ("</" cannot end it early).
std::string script_safe(std::string json);

} // namespace troupe
