#pragma once
// How one node sees time: an offset and a drift from true virtual time. Only that node sees
// it (its ctx.local_now() and the length of its timers); the kernel and the network keep
// true time, so skew changes what a node decides, never when the world delivers.

#include <cmath>
#include <cstdint>

#include "sim/kernel.hpp"

namespace troupe::sim {

struct clock_skew {
  duration offset{0};
  double drift_ppm = 0; ///< +100 = this node's clock runs 100 µs/s fast

  /// The node's clock reading at true time `t`.
  duration local(duration t) const noexcept {
    auto drift = static_cast<double>(t.count()) * drift_ppm * 1e-6;
    return t + offset + duration{static_cast<int64_t>(std::llround(drift))};
  }

  /// True time that passes while the node's clock advances by `d`.
  duration true_delay(duration d) const noexcept {
    if (drift_ppm == 0)
      return d;
    return duration{static_cast<int64_t>(
      std::llround(static_cast<double>(d.count()) / (1.0 + drift_ppm * 1e-6)))};
  }
};

} // namespace troupe::sim
