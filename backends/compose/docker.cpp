#include "backends/compose/docker.hpp"

#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "actors/errors.hpp"
#include "backends/local/program.hpp"

namespace troupe::backends::compose {

using std::chrono::milliseconds;

std::string docker_binary() {
  auto found = local::find_on_path("docker");
  if (found.empty())
    throw user_error("the docker client is not on PATH: install the Debian package docker.io "
                     "(apt-get install docker.io)");
  return found;
}

process_result docker(const std::vector<std::string>& args, milliseconds timeout,
                      const std::string& stdin_file) {
  std::vector<std::string> argv{docker_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return ssh::run_process(argv, timeout, stdin_file);
}

std::string docker_host() {
  const char* h = std::getenv("DOCKER_HOST");
  return h && *h ? h : "unix:///var/run/docker.sock";
}

std::string first_line(const process_result& r) {
  const auto& text = r.err.find_first_not_of(" \t\r\n") != std::string::npos ? r.err : r.out;
  auto start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos)
    return r.timed_out ? "it did not finish in time" : "exit code " + std::to_string(r.code);
  auto end = text.find('\n', start);
  auto line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.pop_back();
  return line;
}

void require_daemon() {
  auto r = docker({"version", "--format", "{{.Server.Version}}"}, std::chrono::seconds(20));
  if (r.code == 0)
    return;
  throw user_error("no Docker daemon answers at " + docker_host() + " (" + first_line(r) +
                   "): start dockerd (systemctl start docker) or point DOCKER_HOST at one");
}

std::vector<std::string> compose_command() {
  if (auto dc = local::find_on_path("docker-compose"); !dc.empty())
    return {dc};
  auto d = docker_binary();
  if (ssh::run_process({d, "compose", "version"}, std::chrono::seconds(20)).code == 0)
    return {d, "compose"};
  throw user_error("neither docker-compose nor the docker compose plugin is installed: install "
                   "the Debian package docker-compose (apt-get install docker-compose)");
}

bool image_exists(const std::string& name) {
  return docker({"image", "inspect", "--format", "{{.Id}}", name}, std::chrono::seconds(30)).code ==
         0;
}

std::string image_label(const std::string& name, const std::string& label) {
  auto r =
    docker({"image", "inspect", "--format", "{{index .Config.Labels \"" + label + "\"}}", name},
           std::chrono::seconds(30));
  if (r.code != 0)
    return {};
  auto v = r.out;
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r'))
    v.pop_back();
  return v == "<no value>" ? std::string{} : v;
}

namespace {

/// "127.0.0.1:PORT" in Docker's complaint about a port it could not publish, or 0.
int busy_published_port(const std::string& text) {
  if (text.find("already allocated") == std::string::npos &&
      text.find("address already in use") == std::string::npos)
    return 0;
  auto at = text.find("127.0.0.1:");
  if (at == std::string::npos)
    return 0;
  try {
    return std::stoi(text.substr(at + 10));
  } catch (const std::exception&) {
    return 0;
  }
}

} // namespace

std::string busy_port_sentence(const process_result& r, const std::string& who) {
  const auto port = busy_published_port(r.err + r.out);
  if (port == 0)
    return {};
  return "port " + std::to_string(port) + " on 127.0.0.1, which " + who +
         " publishes for a node, is in use by another process: free it, or move the backend's "
         "port_min/port_max away from it";
}

std::vector<std::string> output_words(const std::string& text) {
  std::istringstream in{text};
  std::vector<std::string> out;
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

} // namespace troupe::backends::compose
