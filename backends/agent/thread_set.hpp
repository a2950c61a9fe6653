#pragma once
// Threads that each do one thing and end (a tunnel's splice, a waiting request): started
// beside each other, counted while they run, the ended ones joined as new ones start, and
// every one joined at the end. Thread-safe.

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace troupe::backends::agent {

class thread_set {
public:
  thread_set() = default;
  /// join_all().
  ~thread_set() { join_all(); }
  thread_set(const thread_set&) = delete;
  thread_set& operator=(const thread_set&) = delete;

  /// Starts `work` on a thread of its own unless `running_max` run already (then false and
  /// nothing started); the threads that ended are joined first.
  bool spawn(std::function<void()> work, size_t running_max) {
    std::lock_guard<std::mutex> guard{mutex_};
    reap();
    if (threads_.size() >= running_max)
      return false;
    auto done = std::make_shared<bool>(false);
    threads_.emplace_back(std::thread([this, work = std::move(work), done] {
                            work();
                            std::lock_guard<std::mutex> g{mutex_};
                            *done = true;
                          }),
                          done);
    return true;
  }
  /// Threads still running.
  size_t running() const {
    std::lock_guard<std::mutex> guard{mutex_};
    size_t n = 0;
    for (const auto& e : threads_)
      n += !*e.second;
    return n;
  }
  /// Waits for every thread (whatever makes them end must have happened or be under way).
  void join_all() {
    std::list<entry> all;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      all.swap(threads_);
    }
    for (auto& e : all)
      if (e.first.joinable())
        e.first.join();
  }

private:
  using entry = std::pair<std::thread, std::shared_ptr<bool>>;

  void reap() { // mutex_ held; the ended threads only
    for (auto it = threads_.begin(); it != threads_.end();) {
      if (*it->second) {
        it->first.join();
        it = threads_.erase(it);
      } else {
        ++it;
      }
    }
  }

  mutable std::mutex mutex_;
  std::list<entry> threads_;
};

} // namespace troupe::backends::agent
