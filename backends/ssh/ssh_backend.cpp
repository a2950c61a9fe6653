#include "backends/ssh/ssh_backend.hpp"

#include "actors/errors.hpp"
#include "actors/units.hpp"
#include "backends/local/local_backend.hpp"
#include "backends/ssh/ssh_hosts.hpp"

namespace troupe::backends::ssh {

using std::chrono::milliseconds;

ssh_options read_options(params_reader& r) {
  // The local backend's params mean the same here (poll_interval, rpc_timeout, fabric, ...).
  ssh_options o;
  o.local = local::read_options(r);
  o.hosts = r.string("hosts", "");
  r.section("provisioner", [&](params_reader& q) { o.provisioner = read_provisioner(q); });
  if (!r.describing() && o.hosts.empty() == !o.provisioner)
    r.error(o.provisioner ? "provisioner" : "hosts",
            o.provisioner ? "comes instead of \"hosts\": give one of them, not both"
                          : "is required: name an inventory file (docs/ssh.md), or give a "
                            "\"provisioner\" that creates the hosts");
  o.hosts_min = static_cast<size_t>(r.integer("hosts_min", 0, 1, 100000));
  o.parallel = static_cast<size_t>(r.integer("parallel", 32, 1, 1024));
  o.host_keys = r.one_of("host_keys", {"strict", "accept-new"}, "");
  o.connect_timeout = to_ms(r.dur("connect_timeout", o.connect_timeout, milliseconds(100)));
  o.attempts = static_cast<int>(r.integer("attempts", 3, 1, 20));
  o.remote_dir = r.string("remote_dir", o.remote_dir);
  if (r.given("remote_dir") && (o.remote_dir.empty() || o.remote_dir[0] != '/'))
    r.error("remote_dir", "must be an absolute path on the hosts, got \"" + o.remote_dir + "\"");
  o.log_tail_bytes = static_cast<uint64_t>(r.integer("log_tail_bytes", 65536, 0, int64_t{1} << 30));
  o.agent_binary = r.string("agent_binary", "");
  if (const auto* p = r.raw("placement")) {
    if (!p->is_object())
      r.error("placement", "must be an object {\"GROUP\": \"LABEL\"}, got " + p->dump());
    else
      for (auto it = p->begin(); it != p->end(); ++it) {
        if (it.value().is_string())
          o.placement[it.key()] = it.value().get<std::string>();
        else
          r.error("placement", "the label of group \"" + it.key() + "\" must be a string, got " +
                                 it.value().dump());
      }
  }
  if (r.describing())
    r.describe_key("placement",
                   {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}});
  return o;
}

ssh_plan plan(const scenario& s, const expanded_topology& t) {
  ssh_plan p;
  p.options = read_section(s.backend.params, "backend", read_options);
  for (const auto& [group, label] : p.options.placement) {
    (void) label;
    bool known = false;
    for (const auto& g : s.topology.groups)
      known = known || g.name == group;
    if (!known)
      throw user_error("backend.placement names group \"" + group +
                       "\", which the topology does not have: name one of its groups");
  }
  if (p.options.provisioner)
    return p;
  p.hosts = load_inventory(p.options.hosts);
  p.where = place(t, p.hosts, p.options.placement);
  return p;
}

std::string describe_plan(const ssh_plan& p, const expanded_topology& t) {
  if (const auto& pr = p.options.provisioner)
    return "placement (ssh): the provisioner creates " +
           std::to_string(pr->count ? pr->count : t.nodes.size()) +
           " hosts when the run starts (create: " + pr->create + ", time-to-live " +
           format_duration(pr->ttl) + "); the nodes are placed on them then\n";
  return "placement on " + std::to_string(p.hosts.hosts.size()) + " hosts (ssh, " +
         p.options.hosts + "):\n" + describe_placement(p.where, t, p.hosts);
}

ssh_backend::ssh_backend()
  : local_backend(std::make_unique<ssh_hosts>()) {}

} // namespace troupe::backends::ssh
