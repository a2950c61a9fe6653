#pragma once
// Work over many hosts at once, bounded: the ssh fleet connects and bootstraps `parallel`
// hosts at a time, and the orchestrator stops the nodes of every agent in parallel.

#include <cstddef>
#include <functional>

namespace troupe::backends::agent {

/// Runs fn(0..n-1), at most `parallel` at a time, each on a thread of its own; returns when
/// every call has returned (fn must not throw).
void for_each_bounded(size_t n, size_t parallel, const std::function<void(size_t)>& fn);

} // namespace troupe::backends::agent
