#include "backends/agent/netns.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace troupe::backends::agent {

namespace fs = std::filesystem;

namespace {

/// An executable named `name` on PATH or in the sbin directories (root's tools), or "".
std::string find_tool(const std::string& name) {
  std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
  dirs += ":/usr/sbin:/sbin:/usr/bin:/bin";
  std::stringstream in{dirs};
  for (std::string d; std::getline(in, d, ':');) {
    if (d.empty())
      continue;
    auto p = fs::path{d} / name;
    if (::access(p.c_str(), X_OK) == 0)
      return p.string();
  }
  return {};
}

struct command_result {
  int code = -1;
  std::string output; ///< stdout and stderr
};

/// Runs `argv` (no shell), waits, and returns its exit code and output (bounded).
command_result run(const std::vector<std::string>& argv) {
  // Everything the child needs is made before fork: after it, only async-signal-safe calls.
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return {-1, "pipe failed"};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  command_result r;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;)
    if (r.output.size() < 64 * 1024)
      r.output.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid)
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  while (!r.output.empty() && (r.output.back() == '\n' || r.output.back() == ' '))
    r.output.pop_back();
  return r;
}

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (auto& a : argv)
    out += (out.empty() ? "" : " ") + a;
  return out;
}

/// Runs `argv`; throws naming the command and its output when it fails.
void must(const std::vector<std::string>& argv) {
  auto r = run(argv);
  if (r.code != 0)
    throw std::runtime_error("`" + joined(argv) + "` failed (exit " + std::to_string(r.code) +
                             "): " + r.output);
}

} // namespace

std::string ip_tool() { return find_tool("ip"); }

std::string netns_name(const std::string& tag, size_t index) {
  return "troupe-" + tag + "-" + std::to_string(index);
}

std::optional<std::string> netns_refusal() {
  if (::geteuid() != 0)
    return std::string("network namespaces need root (CAP_NET_ADMIN) but troupe runs as uid ") +
           std::to_string(::geteuid()) + ": run it as root";
  if (ip_tool().empty())
    return std::string("network namespaces need the `ip` command: install the Debian package "
                       "iproute2");
  if (find_tool("nft").empty())
    return std::string("network namespaces need the `nft` command: install the Debian package "
                       "nftables");
  return std::nullopt;
}

std::string run_tag(const fs::path& run_dir) {
  std::error_code ec;
  auto abs = fs::weakly_canonical(fs::absolute(run_dir), ec).string();
  // FNV-1a: stable across processes and builds, unlike std::hash.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : abs)
    h = (h ^ c) * 1099511628211ull;
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%06llx", static_cast<unsigned long long>(h & 0xffffff));
  return buf;
}

std::string ipv4_text(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

uint32_t choose_block(const std::string& tag) {
  auto used = run({ip_tool(), "-o", "-4", "addr", "show"}).output;
  const uint32_t start = static_cast<uint32_t>(std::stoul(tag, nullptr, 16) % 50);
  for (uint32_t k = 0; k < 50; ++k) {
    uint32_t x = 200 + (start + k) % 50;
    if (used.find(" 10." + std::to_string(x) + ".") == std::string::npos)
      return (10u << 24) | (x << 16);
  }
  throw std::runtime_error("every private block 10.200.0.0/16 .. 10.249.0.0/16 is in use on "
                           "this host, so troupe has none for its network namespaces");
}

node_netns::node_netns(const std::string& tag, uint32_t block, size_t index)
  : name_(netns_name(tag, index))
  , veth_root_("tr" + tag + "-" + std::to_string(index))
  , veth_inner_("tn" + tag + "-" + std::to_string(index))
  , root_addr_(block + static_cast<uint32_t>(4 * index + 1))
  , inner_addr_(block + static_cast<uint32_t>(4 * index + 2)) {
  if (index >= 16000)
    throw std::runtime_error("at most 16000 nodes get a network namespace in one run");
  auto ip = ip_tool();
  try {
    must({ip, "netns", "add", name_});
    made_ = true;
    must(
      {ip, "link", "add", veth_root_, "type", "veth", "peer", "name", veth_inner_, "netns", name_});
    must({ip, "addr", "add", ipv4_text(root_addr_) + "/30", "dev", veth_root_});
    must({ip, "link", "set", veth_root_, "up"});
    must({ip, "-n", name_, "addr", "add", ipv4_text(inner_addr_) + "/30", "dev", veth_inner_});
    must({ip, "-n", name_, "link", "set", veth_inner_, "up"});
    must({ip, "-n", name_, "link", "set", "lo", "up"});
    must({ip, "netns", "exec", name_, find_tool("sysctl"), "-qw",
          "net.ipv4.conf.all.route_localnet=1"});
  } catch (...) {
    remove();
    throw;
  }
}

node_netns::~node_netns() { remove(); }

void node_netns::remove() noexcept {
  if (!made_)
    return;
  made_ = false;
  auto ip = ip_tool();
  // The veth goes with the namespace once nothing runs in it; delete it at once anyway.
  (void) run({ip, "link", "del", veth_root_});
  (void) run({ip, "netns", "del", name_});
}

void node_netns::install_rules(const std::vector<redirect>& out, const std::vector<uint16_t>& ports,
                               const fs::path& rules_file, uint32_t host_addr) {
  if ((host_addr >> 24) != 127) {
    // Inside, the node binds its host's address and reaches its peers' hosts through the veth.
    must({ip_tool(), "-n", name_, "addr", "add", ipv4_text(host_addr) + "/32", "dev", "lo"});
    must({ip_tool(), "-n", name_, "route", "add", "default", "via", ipv4_text(root_addr_)});
  }
  std::ostringstream nft;
  nft << "table ip troupe {\n  chain output {\n    type nat hook output priority -100;\n";
  for (auto& r : out)
    nft << "    ip daddr " << ipv4_text(r.addr) << " tcp dport " << r.port << " dnat to "
        << ipv4_text(r.to_addr) << ":" << r.to_port << "\n";
  nft << "  }\n  chain prerouting {\n    type nat hook prerouting priority -100;\n";
  for (auto p : ports)
    nft << "    iifname \"" << veth_inner_ << "\" tcp dport " << p << " dnat to "
        << ipv4_text(host_addr) << "\n";
  nft << "  }\n  chain postrouting {\n    type nat hook postrouting priority 100;\n"
      << "    oifname \"" << veth_inner_
      << "\" ip saddr 127.0.0.0/8 masquerade\n  }\n"
      // Drops see the addresses on the veth: after the output DNAT, before the prerouting one.
      << "  chain drop_out {\n    type filter hook postrouting priority 200;\n  }\n"
      << "  chain drop_in {\n    type filter hook prerouting priority -150;\n  }\n}\n";
  {
    std::error_code ec;
    fs::create_directories(rules_file.parent_path(), ec); // on a host, before its nodes' files
    std::ofstream f{rules_file, std::ios::trunc};
    f << nft.str();
    if (!f.flush())
      throw std::runtime_error("cannot write " + rules_file.string());
  }
  must({ip_tool(), "netns", "exec", name_, find_tool("nft"), "-f", rules_file.string()});
}

namespace {

/// Sum of every "counter packets N" in nft's listing of the drop chains.
uint64_t counted(const std::string& listing) {
  uint64_t sum = 0;
  const std::string key = "counter packets ";
  for (auto at = listing.find(key); at != std::string::npos; at = listing.find(key, at + 1))
    sum += std::stoull(listing.substr(at + key.size()));
  return sum;
}

} // namespace

void node_netns::set_drops(const std::vector<drop_rule>& rules, const fs::path& rules_file) {
  auto before = dropped_packets() - dropped_before_;
  std::ostringstream nft;
  nft << "flush chain ip troupe drop_out\nflush chain ip troupe drop_in\n";
  for (auto& r : rules) {
    // Per 10000, so that 0.05 % is still a rule.
    auto per10k = static_cast<long>(r.p * 10000 + 0.5);
    if (per10k <= 0)
      continue;
    if (r.outgoing)
      nft << "add rule ip troupe drop_out oifname \"" << veth_inner_ << "\" ip daddr "
          << ipv4_text(r.addr) << " tcp dport " << r.port;
    else
      nft << "add rule ip troupe drop_in iifname \"" << veth_inner_ << "\" ip saddr "
          << ipv4_text(r.addr) << " tcp sport " << r.port;
    if (per10k < 10000)
      nft << " numgen random mod 10000 < " << per10k;
    nft << " counter drop\n";
  }
  {
    std::error_code ec;
    fs::create_directories(rules_file.parent_path(), ec); // on a host, before its nodes' files
    std::ofstream f{rules_file, std::ios::trunc};
    f << nft.str();
    if (!f.flush())
      throw std::runtime_error("cannot write " + rules_file.string());
  }
  must({ip_tool(), "netns", "exec", name_, find_tool("nft"), "-f", rules_file.string()});
  dropped_before_ += before;
}

uint64_t node_netns::dropped_packets() const {
  uint64_t now = 0;
  for (const char* chain : {"drop_out", "drop_in"})
    now += counted(run({ip_tool(), "netns", "exec", name_, find_tool("nft"), "list", "chain", "ip",
                        "troupe", chain})
                     .output);
  return dropped_before_ + now;
}

std::vector<std::string> node_netns::exec_prefix() const {
  return {ip_tool(), "netns", "exec", name_};
}

} // namespace troupe::backends::agent
