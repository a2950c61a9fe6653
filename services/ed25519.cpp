#include "services/ed25519.hpp"

#include <fstream>
#include <memory>
#include <sstream>

#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "actors/errors.hpp"

namespace troupe::services {

namespace {

constexpr size_t key_bytes = 32;
constexpr size_t signature_bytes = 64;

struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct md_free {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using md_ptr = std::unique_ptr<EVP_MD_CTX, md_free>;

pkey_ptr private_key(const std::string& secret_b64) {
  const auto raw = base64_decode(secret_b64);
  if (raw.size() != key_bytes)
    throw user_error("the secret key is not an Ed25519 key (base64 of 32 bytes); make one with "
                     "`troupe discovery keygen`");
  return pkey_ptr{EVP_PKEY_new_raw_private_key(
    EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size())};
}

std::string raw_public(EVP_PKEY* k) {
  std::string out(key_bytes, '\0');
  size_t n = out.size();
  if (EVP_PKEY_get_raw_public_key(k, reinterpret_cast<unsigned char*>(out.data()), &n) != 1)
    throw std::runtime_error("EVP_PKEY_get_raw_public_key failed");
  out.resize(n);
  return out;
}

} // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  std::string clean;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c)))
      clean += c;
  if (clean.empty() || clean.size() % 4 != 0 || clean.size() > 4096)
    return {};
  std::string out(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0)
    return {};
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t len = static_cast<size_t>(n);
  for (size_t i = clean.size(); i > 0 && clean[i - 1] == '='; --i)
    --len;
  out.resize(len);
  return out;
}

ed25519_keypair ed25519_generate() {
  std::string seed(key_bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(seed.data()), static_cast<int>(seed.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  ed25519_keypair kp;
  kp.secret_b64 = base64_encode(seed);
  kp.public_b64 = ed25519_public_of(kp.secret_b64);
  return kp;
}

std::string ed25519_public_of(const std::string& secret_b64) {
  auto k = private_key(secret_b64);
  if (!k)
    throw user_error("the secret key is not a valid Ed25519 key; make one with "
                     "`troupe discovery keygen`");
  return base64_encode(raw_public(k.get()));
}

std::string ed25519_sign(const std::string& secret_b64, std::string_view message) {
  auto k = private_key(secret_b64);
  md_ptr ctx{EVP_MD_CTX_new()};
  std::string sig(signature_bytes, '\0');
  size_t n = sig.size();
  if (!k || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &n,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    throw std::runtime_error("Ed25519 signing failed");
  sig.resize(n);
  return base64_encode(sig);
}

bool ed25519_verify(const std::string& public_b64, std::string_view message,
                    const std::string& signature_b64) {
  const auto pub = base64_decode(public_b64);
  const auto sig = base64_decode(signature_b64);
  if (pub.size() != key_bytes || sig.size() != signature_bytes)
    return false;
  pkey_ptr k{EVP_PKEY_new_raw_public_key(
    EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(pub.data()), pub.size())};
  md_ptr ctx{EVP_MD_CTX_new()};
  if (!k || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) != 1)
    return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

std::string read_secret_key(const std::filesystem::path& file) {
  std::ifstream in{file};
  if (!in)
    throw user_error("cannot read key file " + file.string() +
                     "; make one with `troupe discovery keygen --out " + file.string() + "`");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str().substr(0, 1024);
  if (base64_decode(text).size() != key_bytes)
    throw user_error("key file " + file.string() +
                     " holds no Ed25519 secret key (base64 of 32 bytes); make one with "
                     "`troupe discovery keygen`");
  std::string clean;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c)))
      clean += c;
  return clean;
}

void write_secret_key(const std::filesystem::path& file, const std::string& secret_b64) {
  const auto old = ::umask(077);
  std::ofstream out{file, std::ios::trunc};
  ::umask(old);
  if (!(out << secret_b64 << "\n"))
    throw user_error("cannot write key file " + file.string() + "; choose a writable path");
  std::filesystem::permissions(file, std::filesystem::perms::owner_read |
                                       std::filesystem::perms::owner_write);
}

} // namespace troupe::services
