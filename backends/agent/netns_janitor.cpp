#include "backends/agent/netns_janitor.hpp"

#include <stdexcept>

#include "backends/agent/netns.hpp"

namespace troupe::backends::agent {

namespace {

// $1 is the ip command, the rest the namespaces. `read` returns non-zero only at end of file:
// the pipe's one writer (troupe) closed it or died. Errors are silenced: after a normal
// teardown every namespace is already gone.
constexpr const char* janitor_script =
  "while read -r _; do :; done; ip=\"$1\"; shift; "
  "for n in \"$@\"; do \"$ip\" netns delete \"$n\" >/dev/null 2>&1; done; exit 0";

std::vector<std::string> ip_and(const std::vector<std::string>& names) {
  auto ip = ip_tool();
  if (ip.empty())
    throw std::runtime_error("no `ip` command to remove network namespaces with");
  std::vector<std::string> args{ip};
  args.insert(args.end(), names.begin(), names.end());
  return args;
}

} // namespace

netns_janitor::netns_janitor(const std::vector<std::string>& names)
  : janitor(janitor_script, "troupe-netns-janitor", ip_and(names), "namespace janitor") {}

} // namespace troupe::backends::agent
