#include "backends/agent/for_each_bounded.hpp"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace troupe::backends::agent {

void for_each_bounded(size_t n, size_t parallel, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  const size_t count = std::min(n, std::max<size_t>(1, parallel));
  for (size_t w = 0; w < count; ++w)
    workers.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++)
        fn(i);
    });
  for (auto& t : workers)
    t.join();
}

} // namespace troupe::backends::agent
