#pragma once
// The Docker tools as the compose backend and `troupe image build` use them: the `docker`
// client on PATH (Debian docker.io, or a newer one), the daemon it reaches ($DOCKER_HOST, else
// the default socket), and the Compose tool: `docker-compose` (Debian's 1.29) or the
// `docker compose` plugin where present. Each command runs to its end, bounded, its output
// captured (backends/ssh/process.hpp). What is missing is one sentence naming the fix.

#include <chrono>
#include <string>
#include <vector>

#include "backends/ssh/process.hpp"

namespace troupe::backends::compose {

using ssh::process_result;

/// The `docker` client (absolute path); throws user_error naming docker.io when missing.
std::string docker_binary();

/// Runs `docker ARGS` (stdin from `stdin_file`, else /dev/null), bounded by `timeout`.
process_result docker(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60),
                      const std::string& stdin_file = {});

/// Where the client reaches the daemon ($DOCKER_HOST, else the default socket), for messages.
std::string docker_host();

/// Throws user_error with one sentence when no daemon answers (its cause and the fix).
void require_daemon();

/// The Compose command's argv prefix: {"/usr/bin/docker-compose"} or {DOCKER, "compose"};
/// throws user_error naming docker-compose when neither is there.
std::vector<std::string> compose_command();

/// Whether the daemon has the image `name`.
bool image_exists(const std::string& name);

/// A label of the image `name` ("" when it has none, or there is no such image).
std::string image_label(const std::string& name, const std::string& label);

/// The first line of a failed command's stderr (else stdout), trimmed: for one-sentence
/// errors.
std::string first_line(const process_result& r);

/// When `r` failed because Docker could not publish a port on 127.0.0.1 (another process has
/// it): one sentence naming the port, what `who` publishes it for and the fix; else "".
std::string busy_port_sentence(const process_result& r, const std::string& who);

/// The whitespace-separated words of a command's output (ids, names), in order.
std::vector<std::string> output_words(const std::string& text);

} // namespace troupe::backends::compose
