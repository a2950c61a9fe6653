#include "backends/k8s/k8s_backend.hpp"

#include "backends/k8s/k8s_hosts.hpp"

namespace troupe::backends::k8s {

k8s_backend::k8s_backend()
  : local_backend(std::make_unique<k8s_hosts>()) {}

} // namespace troupe::backends::k8s
