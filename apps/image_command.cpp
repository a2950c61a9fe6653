// troupe image build PROGRAM [--tag T]: a local image of a node program for the compose
// backend (backends/compose/image_builder.hpp), from this machine's Debian binary and troupe.

#include <cstdio>
#include <filesystem>

#include "actors/errors.hpp"
#include "apps/commands.hpp"
#include "backends/compose/image_builder.hpp"

namespace troupe::apps {

void add_image_command(CLI::App& root, int& exit_code) {
  auto image = root.add_subcommand("image", "Container images of node programs (compose backend)");
  image->require_subcommand(1);
  auto build = image->add_subcommand(
    "build", "Make a local image of a node program: its binary and shared libraries, troupe "
             "(the agent) and a minimal /etc, imported with docker import (no registry, no "
             "base image)");
  static std::string program_ref, tag;
  build->add_option("PROGRAM", program_ref, "a built-in program name or a program JSON file")
    ->required();
  build->add_option("--tag", tag,
                    "the image name (default: the program's image.name, else "
                    "troupe/<program name>:latest)");
  build->callback([&exit_code] {
    auto p = backends::local::load_program(program_ref);
    auto built =
      backends::compose::build_image(*p, tag, std::filesystem::read_symlink("/proc/self/exe"));
    std::printf("%s: %zu files, %.1f MB (the program's executable inside: %s; troupe: %s)\n",
                built.tag.c_str(), built.files.size(), static_cast<double>(built.bytes) / 1e6,
                built.command.c_str(), backends::compose::image_troupe_path);
    exit_code = exit_pass;
  });
}

} // namespace troupe::apps
