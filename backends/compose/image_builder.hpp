#pragma once
// `troupe image build PROGRAM`: a small local image of a node program, made without a registry
// or a base image. A root filesystem holds the program's real executable at its Debian path
// (the ELF a `#!` wrapper execs: /usr/lib/litecoin/litecoind), the troupe binary at
// /troupe/bin/troupe (the agent, the image's entrypoint), libfaketime when it is installed
// here (clock skew, at its Debian path), every shared library `ldd` lists for them and the
// dynamic loader, a minimal /etc (passwd, group, nsswitch.conf, hosts) and /tmp; `docker
// import` makes it an image with the labels troupe.program and troupe.command (the
// executable's path inside).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "backends/local/program.hpp"

namespace troupe::backends::compose {

/// Where the troupe binary is inside every image.
constexpr const char* image_troupe_path = "/troupe/bin/troupe";

/// The image a program's nodes run in: its `image.name`, else troupe/<program name>:latest.
std::string default_image(const local::program& p);

struct image_built {
  std::string tag;
  std::string command;            ///< the program's executable inside
  std::vector<std::string> files; ///< every file copied (paths inside)
  uint64_t bytes = 0;             ///< their total size
};

/// Builds and imports the image (`tag` empty: default_image). `troupe_binary`: the troupe put
/// inside. Throws user_error with one sentence: no daemon, the program's binary not installed,
/// a library ldd cannot find, an import that fails.
image_built build_image(const local::program& p, std::string tag,
                        const std::filesystem::path& troupe_binary);

} // namespace troupe::backends::compose
