#include "backends/local/local_options.hpp"

#include <filesystem>

#include "actors/errors.hpp"
#include "actors/units.hpp"

namespace troupe::backends::local {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// -- params ---------------------------------------------------------------------

local_options read_options(params_reader& r) {
  local_options o;
  o.ready_timeout = to_ms(r.dur("ready_timeout", duration::zero()));
  o.poll_interval = to_ms(r.dur("poll_interval", o.poll_interval, milliseconds(10)));
  o.rpc_timeout = to_ms(r.dur("rpc_timeout", o.rpc_timeout, milliseconds(10)));
  o.setup_timeout = to_ms(r.dur("setup_timeout", o.setup_timeout, milliseconds(1)));
  o.log_bytes_max =
    static_cast<uint64_t>(r.integer("log_bytes_max", o.log_bytes_max, 4096, int64_t{1} << 40));
  o.log_files_max = static_cast<uint32_t>(r.integer("log_files_max", o.log_files_max, 0, 100));
  o.port_min = static_cast<uint16_t>(r.integer("port_min", o.port_min, 1024, 65535));
  o.port_max = static_cast<uint16_t>(r.integer("port_max", o.port_max, 1024, 65535));
  o.fabric = r.boolean("fabric", o.fabric);
  o.agent = r.one_of("agent", {"in-process", "child"}, o.agent);
  o.agent_binary = r.string("agent_binary", o.agent_binary);
  o.faketime = r.one_of("faketime", {"auto", "always", "never"}, o.faketime);
  o.poll = r.one_of("poll", {"orchestrator", "agent"}, o.poll);
  if (o.port_max < o.port_min)
    r.error("port_max", "must be >= port_min (" + std::to_string(o.port_min) + ")");
  return o;
}

std::string agent_binary_default() {
  if (const char* env = std::getenv("TROUPE_AGENT_BINARY"); env && *env)
    return env;
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && self.filename() == "troupe")
    return self.string();
  throw user_error("the local backend's agent \"child\" runs `troupe agent --stdio`, and this "
                   "program (" +
                   (ec ? std::string("unknown") : self.string()) +
                   ") is not troupe: set the backend param \"agent_binary\" to the troupe "
                   "binary, or TROUPE_AGENT_BINARY");
}

} // namespace troupe::backends::local
