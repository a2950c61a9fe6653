#pragma once
// Which image a group's pods run. One small function so that the source can change in one
// place: today the k8s backend's params (`images`, `image`), then the name `troupe image
// build PROGRAM` tags; once node programs name their own `image`, that comes before the
// default.

#include <string>

#include "backends/k8s/k8s_options.hpp"

namespace troupe::backends::k8s {

/// The image of `group`'s nodes, which run `program` (its name): images[group], else
/// images[program], else `image`, else "troupe/<program>:latest" (troupe image build's tag).
std::string image_for(const k8s_options& o, const std::string& group, const std::string& program);

} // namespace troupe::backends::k8s
