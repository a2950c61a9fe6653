#include "backends/k8s/image.hpp"

#include "backends/agent/time_source.hpp"
#include "backends/compose/image_builder.hpp"

namespace troupe::backends::k8s {

std::string image_for(const k8s_options& o, const std::string& group, const local::program& p) {
  if (auto it = o.images.find(group); it != o.images.end())
    return it->second;
  if (auto it = o.images.find(p.name); it != o.images.end())
    return it->second;
  if (!o.image.empty())
    return o.image;
  return compose::default_image(p);
}

std::string executable_in_image(const local::program& p) {
  if (p.image && !p.image->command.empty())
    return p.image->command;
  return agent::executable_behind(local::resolve_binary(p)).string();
}

} // namespace troupe::backends::k8s
