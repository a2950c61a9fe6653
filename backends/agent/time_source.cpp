#include "backends/agent/time_source.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <vector>

namespace troupe::backends::agent {

namespace fs = std::filesystem;

namespace {

/// What the ELF headers say about how a binary gets its time.
struct elf_facts {
  bool elf = false;
  bool elf64 = false;
  bool interp = false;     ///< has a PT_INTERP (dynamically loaded)
  bool needs_libc = false; ///< DT_NEEDED names libc.so.*
  bool go = false;         ///< a Go build-info section or build id note
};

template <class T> bool read_at(std::ifstream& in, uint64_t offset, T& out) {
  in.seekg(static_cast<std::streamoff>(offset));
  return static_cast<bool>(in.read(reinterpret_cast<char*>(&out), sizeof(T)));
}

std::string read_string(std::ifstream& in, uint64_t offset) {
  std::string out;
  in.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  // Bounded: a section or library name longer than this is not one we look for.
  while (out.size() < 256 && in.get(c) && c != '\0')
    out.push_back(c);
  return out;
}

std::vector<Elf64_Shdr> sections(std::ifstream& in, const Elf64_Ehdr& eh) {
  std::vector<Elf64_Shdr> out;
  if (eh.e_shoff == 0 || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum > 4096)
    return out;
  out.resize(eh.e_shnum);
  for (size_t k = 0; k < out.size(); ++k)
    if (!read_at(in, eh.e_shoff + k * sizeof(Elf64_Shdr), out[k]))
      return {};
  return out;
}

/// DT_NEEDED entries of the .dynamic section (through its linked string table).
std::vector<std::string> needed(std::ifstream& in, const std::vector<Elf64_Shdr>& shdrs) {
  std::vector<std::string> out;
  for (const auto& sh : shdrs) {
    if (sh.sh_type != SHT_DYNAMIC || sh.sh_link >= shdrs.size())
      continue;
    const auto& strtab = shdrs[sh.sh_link];
    for (uint64_t off = 0; off + sizeof(Elf64_Dyn) <= sh.sh_size; off += sizeof(Elf64_Dyn)) {
      Elf64_Dyn d{};
      if (!read_at(in, sh.sh_offset + off, d) || d.d_tag == DT_NULL)
        break;
      if (d.d_tag == DT_NEEDED)
        out.push_back(read_string(in, strtab.sh_offset + d.d_un.d_val));
    }
  }
  return out;
}

elf_facts inspect_elf(const fs::path& path) {
  elf_facts f;
  std::ifstream in{path, std::ios::binary};
  Elf64_Ehdr eh{};
  if (!in || !read_at(in, 0, eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    return f;
  f.elf = true;
  f.elf64 = eh.e_ident[EI_CLASS] == ELFCLASS64;
  if (!f.elf64)
    return f;
  for (size_t k = 0; k < eh.e_phnum && k < 256; ++k) {
    Elf64_Phdr ph{};
    if (read_at(in, eh.e_phoff + k * sizeof(Elf64_Phdr), ph) && ph.p_type == PT_INTERP)
      f.interp = true;
  }
  auto shdrs = sections(in, eh);
  if (eh.e_shstrndx < shdrs.size()) {
    const auto& names = shdrs[eh.e_shstrndx];
    for (const auto& sh : shdrs) {
      auto name = read_string(in, names.sh_offset + sh.sh_name);
      if (name == ".go.buildinfo" || name == ".note.go.buildid")
        f.go = true;
    }
  }
  for (const auto& lib : needed(in, shdrs))
    if (lib.rfind("libc.so", 0) == 0)
      f.needs_libc = true;
  return f;
}

/// The first line of a `#!` script (without "#!"), or nothing.
std::optional<std::string> shebang(const fs::path& path) {
  std::ifstream in{path};
  std::string line;
  if (!std::getline(in, line) || line.rfind("#!", 0) != 0)
    return std::nullopt;
  return line.substr(2);
}

/// The absolute path after the script's last `exec ` that names an existing file, or "".
std::string exec_target(const fs::path& script) {
  std::ifstream in{script};
  std::string text(64 * 1024, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  std::string found;
  for (auto at = text.find("exec /"); at != std::string::npos; at = text.find("exec /", at + 1)) {
    auto start = at + 5;
    auto end = text.find_first_of(" \t\n\"';", start);
    auto target = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::error_code ec;
    if (fs::is_regular_file(target, ec))
      found = target;
  }
  return found;
}

std::optional<std::string> judge(const fs::path& binary, int depth) {
  auto name = binary.string();
  if (auto line = shebang(binary)) {
    if (depth > 3)
      return name + " is a chain of scripts troupe cannot follow to a binary";
    auto target = exec_target(binary);
    if (target.empty()) {
      auto start = line->find_first_not_of(" \t");
      auto interp = line->substr(start == std::string::npos ? 0 : start);
      target = interp.substr(0, interp.find_first_of(" \t"));
    }
    return judge(target, depth + 1);
  }
  auto f = inspect_elf(binary);
  if (!f.elf)
    return name + " is neither an ELF executable nor a #! script, so troupe cannot tell how "
                  "it reads the clock";
  if (!f.elf64)
    return name + " is a 32-bit ELF executable, which troupe does not inspect";
  if (f.go)
    return name + " is a Go binary: the Go runtime reads the clock through the vDSO, not libc, "
                  "so libfaketime cannot skew it";
  if (!f.interp)
    return name + " is statically linked: there is no dynamic loader to preload libfaketime "
                  "into";
  if (!f.needs_libc)
    return name + " does not link libc, so libfaketime cannot change the time it reads";
  return std::nullopt;
}

} // namespace

std::filesystem::path executable_behind(const fs::path& binary) {
  fs::path at = binary;
  for (int depth = 0; depth < 3 && shebang(at); ++depth) {
    auto target = exec_target(at);
    if (target.empty())
      break;
    at = target;
  }
  return at;
}

std::optional<std::string> libc_time_refusal(const fs::path& binary) {
  static std::mutex mutex;
  static std::map<fs::path, std::optional<std::string>> cache;
  std::lock_guard<std::mutex> guard{mutex};
  auto it = cache.find(binary);
  if (it == cache.end())
    it = cache.emplace(binary, judge(binary, 0)).first;
  return it->second;
}

} // namespace troupe::backends::agent
