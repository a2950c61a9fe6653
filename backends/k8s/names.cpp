#include "backends/k8s/names.hpp"

#include <cctype>

namespace troupe::backends::k8s {

namespace {

void trim_dashes(std::string& s) {
  while (!s.empty() && s.back() == '-')
    s.pop_back();
  size_t lead = 0;
  while (lead < s.size() && s[lead] == '-')
    ++lead;
  s.erase(0, lead);
}

} // namespace

std::string dns_label(const std::string& text, size_t length_max) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out += std::isalnum(u) && u < 0x80 ? static_cast<char>(std::tolower(u)) : '-';
  }
  trim_dashes(out);
  out = out.substr(0, length_max);
  trim_dashes(out);
  return out;
}

bool is_dns_label(const std::string& text) {
  return !text.empty() && text.size() <= 63 && dns_label(text) == text;
}

} // namespace troupe::backends::k8s
