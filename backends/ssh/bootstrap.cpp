#include "backends/ssh/bootstrap.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

namespace troupe::backends::ssh {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

std::string sha256_file(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  if (!in)
    throw std::runtime_error("cannot read " + p.string());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::array<char, 1 << 16> buf;
  while (in) {
    in.read(buf.data(), buf.size());
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &n);
  std::string hex;
  char two[3];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(two, sizeof two, "%02x", md[i]);
    hex += two;
  }
  return hex;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

namespace {

constexpr const char* then_begin = "---troupe-then---\n";
constexpr const char* then_end = "---troupe-then-exit=";

/// `then` with `{file}` replaced, its output and exit code framed for then_result().
std::string then_part(const std::string& then, const std::string& quoted_file) {
  if (then.empty())
    return {};
  std::string cmd = then;
  for (auto at = cmd.find("{file}"); at != std::string::npos; at = cmd.find("{file}", at))
    cmd.replace(at, 6, quoted_file);
  return std::string("printf '%s' '") + then_begin + "'; " + cmd + " 2>&1; echo \"" + then_end +
         "$?\"";
}

/// Reads what then_part() printed into `f` (the output before it is the hash).
void then_result(const std::string& out, remote_file& f) {
  const auto b = out.find(then_begin);
  const auto e = out.rfind(then_end);
  if (b == std::string::npos || e == std::string::npos || e < b) {
    f.then_code = -1;
    f.then_output = "it printed nothing the check could read";
    return;
  }
  const auto start = b + std::string(then_begin).size();
  f.then_output = out.substr(start, e - start);
  f.then_code = std::atoi(out.c_str() + e + std::string(then_end).size());
}

} // namespace

remote_file ensure_file(const ssh_master& m, const fs::path& local, const std::string& sha256,
                        const std::string& remote_root, const std::string& then) {
  const auto host = "host " + m.host().describe();
  const auto dir = remote_root + "/bin/" + sha256;
  remote_file f;
  f.path = dir + "/" + local.filename().string();
  const auto q = shell_quote(f.path);
  // One round trip to learn whether the copy is there (its hash, or nothing), and when it is,
  // to run `then` with it.
  auto check =
    m.run("command -v sha256sum >/dev/null || exit 127; h=$([ -f " + q + " ] && sha256sum " + q +
            " | cut -c1-64); echo \"$h\"; " +
            (then.empty() ? std::string{}
                          : "if [ \"$h\" = " + sha256 + " ]; then " + then_part(then, q) + "; fi"),
          milliseconds(60000));
  if (check.code == 127)
    throw host_error(host + " lacks sha256sum: install coreutils there");
  if (check.code != 0)
    throw host_error(host + " could not check " + f.path + " (" +
                     (check.timed_out ? std::string("no answer within 60 s") : check.err) + ")");
  if (check.out.substr(0, 64) == sha256) {
    if (!then.empty())
      then_result(check.out, f);
    return f;
  }
  // Written under a temporary name and renamed: a run that dies mid-copy leaves no file that
  // looks complete, and two runs copying at once do not mix their bytes.
  auto put =
    m.run("mkdir -p " + shell_quote(dir) + " && t=" + q + ".part.$$ && cat > \"$t\" && " +
            "chmod 755 \"$t\" && mv -f \"$t\" " + q + " && sha256sum " + q + " | cut -c1-64" +
            (then.empty() ? std::string{} : " && { " + then_part(then, q) + "; }"),
          milliseconds(600000), local.string());
  if (put.code != 0)
    throw host_error(host + " could not store " + f.path + " (" +
                     (put.timed_out ? std::string("no end within 10 min") : put.err) +
                     "): free space there or choose another \"remote_dir\"");
  if (put.out.substr(0, 64) != sha256)
    throw host_error(host + " holds a damaged copy of " + local.filename().string() + " (sha256 " +
                     put.out.substr(0, 64) + ", sent " + sha256 +
                     "): check its disk, then run again");
  f.copied = true;
  if (!then.empty())
    then_result(put.out, f);
  return f;
}

} // namespace troupe::backends::ssh
