#include "report/run_views.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "actors/runner.hpp"
#include "report/dashboard.hpp"
#include "report/metrics.hpp"
#include "report/progress_line.hpp"

namespace troupe {

namespace {

/// The views' thread: every 200 ms of wall time it redraws the progress line and publishes
/// the snapshot to Prometheus. Wall time lives here only; it never reaches the run.
class refresher {
public:
  refresher(std::shared_ptr<live_status> live, bool progress, bool metrics)
    : live_(std::move(live))
    , progress_(progress)
    , metrics_(metrics)
    , start_(std::chrono::steady_clock::now()) {
    thread_ = std::thread([this] { loop(); });
  }
  ~refresher() { stop(); }

  void stop() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopped_)
        return;
      stopped_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
    refresh(); // the final state, for the last scrape
    if (progress_ && drawn_) {
      std::fputs("\r\033[K", stdout); // the summary follows on a clean line
      std::fflush(stdout);
    }
  }

private:
  void loop() {
    std::unique_lock<std::mutex> lk{mtx_};
    while (!stopped_) {
      lk.unlock();
      refresh();
      if (progress_) {
        auto line = progress_line(live_->get());
        std::fprintf(stdout, "\r%s\033[K", line.c_str());
        std::fflush(stdout);
        drawn_ = true;
      }
      lk.lock();
      cv_.wait_for(lk, std::chrono::milliseconds(200), [this] { return stopped_; });
    }
  }
  void refresh() {
    const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    live_->update([wall](live_snapshot& s) { s.wall_s = wall; });
    if (metrics_)
      metrics::publish(live_->get());
  }

  std::shared_ptr<live_status> live_;
  bool progress_, metrics_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopped_ = false;
  bool drawn_ = false;
  std::thread thread_;
};

class views final : public run_views {
public:
  views(std::shared_ptr<live_status> live, const run_request& req) {
    if (req.metrics_port >= 0)
      metrics_ = std::make_unique<metrics::endpoint>(req.metrics_port);
    if (req.serve_port >= 0)
      board_ = std::make_unique<dashboard>(live, req.serve_port);
    if (metrics_)
      spdlog::info("metrics: http://127.0.0.1:{}/metrics", metrics_->port());
    if (board_) {
      spdlog::info("dashboard: http://127.0.0.1:{}/", board_->port());
      if (!req.quiet)
        std::fprintf(stderr, "troupe: live dashboard at http://127.0.0.1:%d/\n", board_->port());
    }
    if (req.on_serving)
      req.on_serving(metrics_ ? metrics_->port() : -1, board_ ? board_->port() : -1);
    const bool progress = req.progress && !req.quiet && isatty(fileno(stdout)) == 1;
    if (progress || metrics_ || board_)
      refresher_.emplace(std::move(live), progress, metrics_ != nullptr);
  }

  void finish() override {
    if (refresher_)
      refresher_->stop();
  }

private:
  std::unique_ptr<metrics::endpoint> metrics_;
  std::unique_ptr<dashboard> board_;
  std::optional<refresher> refresher_;
};

} // namespace

std::unique_ptr<run_views> make_run_views(std::shared_ptr<live_status> live,
                                          const run_request& req) {
  return std::make_unique<views>(std::move(live), req);
}

} // namespace troupe
