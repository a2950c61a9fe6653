#pragma once
// Ed25519 keys and signatures for the discovery registry (OpenSSL's EVP interface): keys
// and signatures travel as base64 of their raw bytes (32-byte keys, 64-byte signatures), the
// same form the seed's uptime backend keeps in its whitelist.

#include <filesystem>
#include <string>
#include <string_view>

namespace troupe::services {

struct ed25519_keypair {
  std::string secret_b64; ///< the 32-byte private seed
  std::string public_b64; ///< the 32-byte public key
};

ed25519_keypair ed25519_generate();
/// The public key of a secret (base64); throws user_error when it is not one.
std::string ed25519_public_of(const std::string& secret_b64);
/// Signs `message`; returns the signature in base64.
std::string ed25519_sign(const std::string& secret_b64, std::string_view message);
/// Whether `signature_b64` is `public_b64`'s signature of `message` (false for malformed input).
bool ed25519_verify(const std::string& public_b64, std::string_view message,
                    const std::string& signature_b64);

/// Reads a secret key file (base64, whitespace ignored); throws user_error naming the file.
std::string read_secret_key(const std::filesystem::path& file);
/// Writes a secret key file readable by its owner only.
void write_secret_key(const std::filesystem::path& file, const std::string& secret_b64);

std::string base64_encode(std::string_view bytes);
/// Empty on malformed input.
std::string base64_decode(std::string_view text);

} // namespace troupe::services
