#include "backends/ssh/keeper.hpp"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

namespace troupe::backends::ssh {

namespace {

struct keeper {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::packaged_task<pid_t()>> tasks;

  keeper() {
    std::thread([this] {
      for (;;) {
        std::packaged_task<pid_t()> t;
        {
          std::unique_lock<std::mutex> lock{mutex};
          wake.wait(lock, [&] { return !tasks.empty(); });
          t = std::move(tasks.front());
          tasks.pop_front();
        }
        t();
      }
    }).detach();
  }
};

keeper& the_keeper() {
  // Never destroyed: the thread outlives static destruction, blocked on its condition.
  static keeper* k = new keeper;
  return *k;
}

} // namespace

pid_t fork_on_keeper(const std::function<pid_t()>& fork_child) {
  auto& k = the_keeper();
  std::packaged_task<pid_t()> task{fork_child};
  auto result = task.get_future();
  {
    std::lock_guard<std::mutex> guard{k.mutex};
    k.tasks.push_back(std::move(task));
  }
  k.wake.notify_one();
  return result.get();
}

} // namespace troupe::backends::ssh
