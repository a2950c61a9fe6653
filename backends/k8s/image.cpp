#include "backends/k8s/image.hpp"

namespace troupe::backends::k8s {

std::string image_for(const k8s_options& o, const std::string& group, const std::string& program) {
  if (auto it = o.images.find(group); it != o.images.end())
    return it->second;
  if (auto it = o.images.find(program); it != o.images.end())
    return it->second;
  if (!o.image.empty())
    return o.image;
  return "troupe/" + program + ":latest";
}

} // namespace troupe::backends::k8s
