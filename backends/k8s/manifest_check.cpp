#include "backends/k8s/manifest_check.hpp"

#include <map>
#include <set>

#include "backends/k8s/names.hpp"

namespace troupe::backends::k8s {

using nlohmann::json;

namespace {

constexpr size_t object_data_bytes_max = 1u << 20;

struct checker {
  std::vector<std::string> problems;
  std::string ns;
  std::set<std::string> seen; ///< "Kind/name" of the objects so far
  std::set<std::string> headless_services;

  void fail(const std::string& what, const std::string& why) {
    problems.push_back(what + ": " + why);
  }

  std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
  }

  void labels(const std::string& what, const json& l) {
    if (!l.is_object())
      return;
    for (auto it = l.begin(); it != l.end(); ++it)
      if (!it.value().is_string() || it.value().get<std::string>().size() > 63)
        fail(what, "label " + it.key() + " must be a string of at most 63 characters");
  }

  void data_size(const std::string& what, const json& o, const char* key) {
    size_t bytes = 0;
    if (auto d = o.find(key); d != o.end() && d->is_object())
      for (auto it = d->begin(); it != d->end(); ++it)
        bytes +=
          it.key().size() + (it.value().is_string() ? it.value().get<std::string>().size() : 0);
    if (bytes > object_data_bytes_max)
      fail(what, key + std::string(" holds ") + std::to_string(bytes) +
                   " bytes, over the API's 1 MiB per object");
  }

  void container(const std::string& what, const json& c) {
    const auto name = what + " container " + str(c, "name");
    if (str(c, "image").empty())
      fail(name, "has no image");
    if (!c.contains("command") || !c["command"].is_array() || c["command"].empty())
      fail(name, "has no command (the agent is its entrypoint)");
    if (!c.contains("startupProbe") && !c.contains("readinessProbe"))
      fail(name, "has no startup or readiness probe (readiness comes from pod conditions)");
    if (!c.contains("resources") || !c["resources"].contains("requests"))
      fail(name, "has no resource requests");
  }

  void volumes(const std::string& what, const json& pod) {
    for (const auto& v : pod.value("volumes", json::array())) {
      if (v.contains("secret") && !seen.count("Secret/" + str(v["secret"], "secretName")))
        fail(what, "mounts Secret " + str(v["secret"], "secretName") +
                     ", which comes after it or not at all");
      if (v.contains("configMap") && !seen.count("ConfigMap/" + str(v["configMap"], "name")))
        fail(what, "mounts ConfigMap " + str(v["configMap"], "name") +
                     ", which comes after it or not at all");
    }
  }

  void stateful_set(const std::string& what, const json& o) {
    const auto& spec = o.value("spec", json::object());
    if (spec.value("replicas", 0) <= 0)
      fail(what, "has no replicas");
    if (!headless_services.count(str(spec, "serviceName")))
      fail(what, "names serviceName \"" + str(spec, "serviceName") +
                   "\", which is no headless Service before it");
    const auto match = spec.value("selector", json::object()).value("matchLabels", json::object());
    const auto& tmpl = spec.value("template", json::object());
    const auto tl = tmpl.value("metadata", json::object()).value("labels", json::object());
    for (auto it = match.begin(); it != match.end(); ++it)
      if (!tl.contains(it.key()) || tl[it.key()] != it.value())
        fail(what,
             "selects " + it.key() + "=" + it.value().dump() + ", which its pod template lacks");
    if (match.empty())
      fail(what, "has an empty selector");
    labels(what + " pod template", tl);
    const auto& pod = tmpl.value("spec", json::object());
    const auto containers = pod.value("containers", json::array());
    if (containers.empty())
      fail(what, "has no containers");
    for (const auto& c : containers)
      container(what, c);
    volumes(what, pod);
  }

  void object(size_t i, const json& o) {
    const auto kind = str(o, "kind");
    const auto& md = o.value("metadata", json::object());
    const auto name = str(md, "name");
    const auto what =
      (kind.empty() ? std::string("object ") + std::to_string(i) : kind) + " " + name;
    if (str(o, "apiVersion").empty() || kind.empty())
      fail(what, "needs apiVersion and kind");
    if (!is_dns_label(name))
      fail(what, "metadata.name must be a DNS label (lower case, digits, '-', at most 63)");
    labels(what, md.value("labels", json::object()));
    if (kind == "Namespace") {
      if (i != 0)
        fail(what, "must come first: the other objects live in it");
      ns = name;
    } else if (str(md, "namespace") != ns || ns.empty()) {
      fail(what, "must be in the run's namespace \"" + ns + "\"");
    }
    if (kind == "ConfigMap" || kind == "Secret") {
      data_size(what, o, "data");
      data_size(what, o, "stringData");
    }
    if (kind == "Service" && o.value("spec", json::object()).value("clusterIP", "") == "None")
      headless_services.insert(name);
    if (kind == "StatefulSet")
      stateful_set(what, o);
    if (!seen.insert(kind + "/" + name).second)
      fail(what, "appears twice");
  }
};

} // namespace

std::vector<std::string> check_manifests(const std::vector<json>& objects) {
  checker c;
  for (size_t i = 0; i < objects.size(); ++i)
    c.object(i, objects[i]);
  return c.problems;
}

} // namespace troupe::backends::k8s
