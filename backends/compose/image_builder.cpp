#include "backends/compose/image_builder.hpp"

#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "actors/errors.hpp"
#include "backends/agent/clock_skew.hpp"
#include "backends/agent/time_source.hpp"
#include "backends/compose/docker.hpp"

namespace troupe::backends::compose {

namespace fs = std::filesystem;
using std::chrono::seconds;

std::string default_image(const local::program& p) {
  return p.image && !p.image->name.empty() ? p.image->name : "troupe/" + p.name + ":latest";
}

namespace {

/// The shared libraries and loader `ldd` lists for `binary` (absolute paths); throws
/// user_error naming a library it cannot find.
std::set<std::string> libraries_of(const fs::path& binary) {
  auto r = ssh::run_process({"/usr/bin/ldd", binary.string()}, seconds(30));
  std::set<std::string> out;
  if (r.code != 0) {
    // A static executable ("not a dynamic executable") needs nothing more.
    if ((r.out + r.err).find("not a dynamic executable") != std::string::npos)
      return out;
    throw user_error("ldd " + binary.string() + " failed (" + first_line(r) +
                     "): troupe image build needs ldd (Debian libc-bin)");
  }
  std::istringstream in{r.out};
  for (std::string line; std::getline(in, line);) {
    if (line.find("not found") != std::string::npos)
      throw user_error(binary.string() + " needs a library that is not installed (" +
                       line.substr(line.find_first_not_of(" \t")) +
                       "): install the package that provides it");
    // "libx.so.1 => /lib/.../libx.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)".
    auto slash = line.find('/');
    if (slash == std::string::npos)
      continue; // linux-vdso.so.1: in the kernel
    auto end = line.find(' ', slash);
    out.insert(line.substr(slash, end == std::string::npos ? std::string::npos : end - slash));
  }
  return out;
}

/// Copies `from` (symlinks followed) to `root` + `inside`, with its permission bits.
uint64_t copy_in(const fs::path& root, const fs::path& from, const std::string& inside) {
  auto to = root / fs::path{inside}.relative_path();
  fs::create_directories(to.parent_path());
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  fs::permissions(to, fs::status(from).permissions());
  return fs::file_size(to);
}

void write_etc(const fs::path& root) {
  fs::create_directories(root / "etc");
  std::ofstream{root / "etc/passwd"}
    << "root:x:0:0:root:/root:/troupe/bin/troupe\n"
    << "nobody:x:65534:65534:nobody:/nonexistent:/troupe/bin/troupe\n";
  std::ofstream{root / "etc/group"} << "root:x:0:\nnogroup:x:65534:\n";
  std::ofstream{root / "etc/nsswitch.conf"} << "passwd: files\ngroup: files\nhosts: files dns\n";
  std::ofstream{root / "etc/hosts"} << "127.0.0.1 localhost\n";
  fs::create_directories(root / "root");
  fs::create_directories(root / "tmp");
  fs::permissions(root / "tmp", fs::perms::all | fs::perms::sticky_bit);
}

/// The program's executable here: the binary its JSON names, or what a wrapper script execs.
fs::path program_executable(const local::program& p) {
  return agent::executable_behind(local::resolve_binary(p));
}

} // namespace

image_built build_image(const local::program& p, std::string tag, const fs::path& troupe_binary) {
  if (tag.empty())
    tag = default_image(p);
  const auto exe = program_executable(p); // a missing binary: the sentence naming its package
  require_daemon();
  image_built out;
  out.tag = tag;
  out.command = exe.string();

  const auto root =
    fs::temp_directory_path() / ("troupe-image-" + std::to_string(::getpid()) + "-" + p.name);
  fs::remove_all(root);
  struct cleanup {
    fs::path dir;
    ~cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } remove_root{root};
  const auto tree = root / "rootfs";

  std::map<std::string, fs::path> files; // inside -> here
  files[exe.string()] = exe;
  files[image_troupe_path] = troupe_binary;
  // /bin/sh for the node-side commands the agent runs (`sh -c`; the commands workload).
  const auto shell = fs::canonical("/bin/sh");
  files["/bin/sh"] = shell;
  std::vector<fs::path> needing_libs{exe, troupe_binary, shell};
  if (auto lib = agent::faketime_library()) {
    files[lib->string()] = *lib;
    needing_libs.push_back(*lib);
  }
  for (const auto& b : needing_libs)
    for (const auto& lib : libraries_of(b))
      files[lib] = lib;
  for (const auto& [inside, here] : files) {
    out.bytes += copy_in(tree, here, inside);
    out.files.push_back(inside);
  }
  write_etc(tree);
  fs::create_directories(tree / "troupe/run");

  const auto tar = root / "rootfs.tar";
  auto t = ssh::run_process({"/bin/tar", "--owner=0", "--group=0", "--numeric-owner", "-C",
                             tree.string(), "-cf", tar.string(), "."},
                            seconds(120));
  if (t.code != 0)
    throw user_error("tar could not pack the image's root filesystem (" + first_line(t) +
                     "): check the space in " + fs::temp_directory_path().string());
  auto r =
    docker({"import", "--change", std::string("ENTRYPOINT [\"") + image_troupe_path + "\"]",
            "--change", "CMD [\"agent\", \"--help\"]", "--change", "LABEL troupe.program=" + p.name,
            "--change", "LABEL troupe.command=" + out.command, tar.string(), tag},
           seconds(300));
  if (r.code != 0)
    throw user_error("docker import of " + tag + " failed: " + first_line(r));
  return out;
}

} // namespace troupe::backends::compose
