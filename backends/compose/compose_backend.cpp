#include "backends/compose/compose_backend.hpp"

#include "backends/compose/compose_hosts.hpp"

namespace troupe::backends::compose {

using std::chrono::milliseconds;

compose_options read_options(params_reader& r) {
  compose_options o;
  o.local = local::read_options(r);
  o.keep = r.boolean("keep", false);
  o.start_timeout = std::chrono::duration_cast<milliseconds>(
    r.dur("start_timeout", o.start_timeout, std::chrono::seconds(1)));
  o.swarm = r.one_of("mode", {"compose", "swarm"}, "compose") == "swarm";
  if (const auto* p = r.raw("image")) {
    if (!p->is_object())
      r.error("image", "must be an object {\"PROGRAM\": \"IMAGE\"}, got " + p->dump());
    else
      for (auto it = p->begin(); it != p->end(); ++it) {
        if (it.value().is_string() && !it.value().get<std::string>().empty())
          o.image[it.key()] = it.value().get<std::string>();
        else
          r.error("image", "the image of program \"" + it.key() + "\" must be a name, got " +
                             it.value().dump());
      }
  }
  if (r.describing())
    r.describe_key("image", {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}});
  return o;
}

compose_backend::compose_backend()
  : local_backend(std::make_unique<compose_hosts>()) {}

} // namespace troupe::backends::compose
