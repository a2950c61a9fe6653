#include "actors/run_context.hpp"

namespace troupe {

std::vector<node_handle> run_context::select(const std::string& selector) const {
  std::vector<node_handle> out;
  for (const auto& n : nodes)
    if (selector == "all" || n.group == selector || n.id == selector)
      out.push_back(n);
  return out;
}

} // namespace troupe
