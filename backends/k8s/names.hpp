#pragma once
// Names Kubernetes accepts: DNS-1123 labels (lower case letters, digits and '-', starting and
// ending with a letter or digit, at most 63 long). One rule for every object troupe makes:
// the swarm's Indexed Job (backends/sim/swarm_k8s) and the k8s backend's namespace,
// StatefulSets, Services and pods (backends/k8s/manifests).

#include <cstddef>
#include <string>

namespace troupe::backends::k8s {

/// `text` as a DNS-1123 label of at most `length_max` characters: lower-cased, every other
/// character '-', no '-' at either end; "" when nothing is left.
std::string dns_label(const std::string& text, size_t length_max = 63);

/// Whether `text` is a DNS-1123 label already (what `dns_label` leaves unchanged).
bool is_dns_label(const std::string& text);

} // namespace troupe::backends::k8s
