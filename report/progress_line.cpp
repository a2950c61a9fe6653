#include "report/progress_line.hpp"

#include <cstdio>

namespace troupe {

std::string progress_line(const live_snapshot& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "[%7.1fs/%.0fs%s] nodes %zu/%zu  height %lld..%lld  txs %llu/%llu  "
                "msgs %llu  drops %llu  faults %zu",
                s.run_s, s.duration_s, s.virtual_time ? " sim" : "", s.nodes_up, s.nodes_total,
                static_cast<long long>(s.height_min), static_cast<long long>(s.height_max),
                static_cast<unsigned long long>(s.txs_included),
                static_cast<unsigned long long>(s.txs_submitted),
                static_cast<unsigned long long>(s.messages),
                static_cast<unsigned long long>(s.drops), s.active_faults.size());
  std::string out = buf;
  if (!s.active_faults.empty()) {
    out += " (" + s.active_faults.front();
    if (s.active_faults.size() > 1)
      out += ", +" + std::to_string(s.active_faults.size() - 1);
    out += ")";
  }
  // One terminal line: a long fault description must not wrap and break the redraw.
  if (out.size() > 118)
    out = out.substr(0, 115) + "...";
  return out;
}

} // namespace troupe
