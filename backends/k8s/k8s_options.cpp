#include "backends/k8s/k8s_options.hpp"

#include "actors/scenario/scenario.hpp"

namespace troupe::backends::k8s {

namespace {

/// {"NAME": "IMAGE"} at `key`, every value a string.
std::map<std::string, std::string> read_images(params_reader& r, const char* key) {
  std::map<std::string, std::string> out;
  if (r.describing())
    r.describe_key(key, {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}});
  const auto* p = r.raw(key);
  if (!p)
    return out;
  if (!p->is_object()) {
    r.error(key, "must be an object {\"GROUP or PROGRAM\": \"IMAGE\"}, got " + p->dump());
    return out;
  }
  for (auto it = p->begin(); it != p->end(); ++it) {
    if (it.value().is_string() && !it.value().get<std::string>().empty())
      out[it.key()] = it.value().get<std::string>();
    else
      r.error(key, "the image of \"" + it.key() + "\" must be a non-empty string, got " +
                     it.value().dump());
  }
  return out;
}

std::chrono::seconds to_s(duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d);
}

} // namespace

k8s_options read_options(params_reader& r) {
  k8s_options o;
  o.local = local::read_options(r);
  o.image = r.string("image", "");
  o.images = read_images(r, "images");
  o.ttl = to_s(r.dur("ttl", o.ttl, std::chrono::minutes(1)));
  o.agent_port = static_cast<uint16_t>(r.integer("agent_port", o.agent_port, 1, 65535));
  o.cpu = r.string("cpu", o.cpu);
  o.memory = r.string("memory", o.memory);
  o.cpu_max = r.string("cpu_max", "");
  o.memory_max = r.string("memory_max", "");
  o.kubectl = r.string("kubectl", o.kubectl);
  o.wait_timeout = to_s(r.dur("wait_timeout", o.wait_timeout, std::chrono::seconds(1)));
  o.parallel = static_cast<size_t>(r.integer("parallel", 64, 1, 1024));
  o.pod_dir = r.string("pod_dir", o.pod_dir);
  if (o.pod_dir.empty() || o.pod_dir[0] != '/')
    r.error("pod_dir", "must be an absolute path in the pods, got \"" + o.pod_dir + "\"");
  o.log_tail_bytes = static_cast<uint64_t>(r.integer("log_tail_bytes", 65536, 0, int64_t{1} << 30));
  o.kill_deletes_pod = r.one_of("kill", {"signal", "delete_pod"}, "signal") == "delete_pod";
  return o;
}

k8s_options options_of(const scenario& s) {
  return read_section(s.backend.name == "k8s" ? s.backend.params : nlohmann::json::object(),
                      "backend", read_options);
}

} // namespace troupe::backends::k8s
