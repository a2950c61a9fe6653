#pragma once
// Which image a group's pods run, and the program's executable inside it: the k8s backend's
// params (`images`, `image`), else the program's own `image` (its name, its command), else
// what `troupe image build PROGRAM` makes (troupe/<program>:latest, the executable at its
// Debian path: backends/compose/image_builder.hpp).

#include <string>

#include "backends/k8s/k8s_options.hpp"
#include "backends/local/program.hpp"

namespace troupe::backends::k8s {

/// The image of `group`'s nodes, which run `p`: images[group], else images[p.name], else
/// `image`, else the program's image (compose::default_image: its `image.name`, else
/// "troupe/<program>:latest", troupe image build's tag).
std::string image_for(const k8s_options& o, const std::string& group, const local::program& p);

/// The executable the agent in a pod runs for `p`: its `image.command`, else where troupe
/// image build puts it (the binary here, or the ELF its #! wrapper execs, at the same path).
std::string executable_in_image(const local::program& p);

} // namespace troupe::backends::k8s
