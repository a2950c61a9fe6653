#include "backends/register_live.hpp"

#include "actors/registry.hpp"
#include "backends/attach/attach_backend.hpp"
#include "backends/compose/compose_backend.hpp"
#include "backends/k8s/k8s_backend.hpp"
#include "backends/k8s/k8s_options.hpp"
#include "backends/local/local_backend.hpp"
#include "backends/local/program.hpp"
#include "backends/ssh/ssh_backend.hpp"

namespace troupe::backends {

void register_live(troupe::registry& reg) {
  reg.add_backend({"local",
                   "one process per node on this machine (real programs: litecoind, etcd, ...)",
                   [](params_reader& r) { local::read_options(r); },
                   [] { return std::make_unique<local::local_backend>(); }});
  reg.add_backend({"ssh",
                   "nodes on machines reached over OpenSSH, from an inventory: one agent per "
                   "host runs its nodes and link relays",
                   [](params_reader& r) { ssh::read_options(r); },
                   [] { return std::make_unique<ssh::ssh_backend>(); }});
  reg.add_backend({"k8s",
                   "one pod per node on a Kubernetes cluster (kubectl, server-side apply): each "
                   "pod's agent runs its node and link relays",
                   [](params_reader& r) { k8s::read_options(r); },
                   [] { return std::make_unique<k8s::k8s_backend>(); }});
  reg.add_backend({"compose",
                   "one container per node on a Docker daemon, from a generated Compose file: "
                   "each container's agent runs its node (images by troupe image build)",
                   [](params_reader& r) { compose::read_options(r); },
                   [] { return std::make_unique<compose::compose_backend>(); }});
  reg.add_backend({"attach",
                   "nodes troupe did not start, from a list or a discovery registry (controls "
                   "and faults refused)",
                   [](params_reader& r) { attach::read_options(r); },
                   [] { return std::make_unique<attach::attach_backend>(); }});
  auto builtins = local::builtin_programs();
  if (builtins.empty()) {
    try {
      local::programs_dir();
    } catch (const std::exception& e) {
      reg.set_programs_missing(e.what()); // names TROUPE_PROGRAMS_DIR, the fix
    }
  }
  for (auto& name : builtins) {
    std::string summary;
    try {
      summary = local::load_program(name)->summary;
    } catch (const std::exception& e) {
      summary = std::string("(broken definition: ") + e.what() + ")";
    }
    reg.add_program({name, summary,
                     [name](params_reader& r, const group& g) { local::validate_node(r, g, name); },
                     [name](const group& g) { return local::program_leadership(g, name); }});
  }
  reg.set_program_file_validator([](params_reader& r, const group& g, const std::string& path) {
    local::validate_node(r, g, path);
  });
  reg.set_program_file_leadership(
    [](const group& g, const std::string& path) { return local::program_leadership(g, path); });
}

} // namespace troupe::backends
