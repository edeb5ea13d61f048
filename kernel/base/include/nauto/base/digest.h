#pragma once
// Digests as lower-case hex: what binds an approval to the exact diff it approved (SHA-256) and
// what signs a webhook (HMAC-SHA-256), and fresh random keys. OpenSSL's libcrypto does the work.

#include <cstddef>
#include <string>
#include <string_view>

#include "nauto/base/result.h"

namespace nauto {

/// SHA-256 of `data`, 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);
/// HMAC-SHA-256 of `data` under `key`, 64 lower-case hex digits.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
/// Compares two strings in time independent of where they differ (signature checks).
bool equal_in_constant_time(std::string_view a, std::string_view b);

/// `count` bytes from OpenSSL's CSPRNG; Errc::Library when it has no entropy.
Result<std::string> random_bytes(std::size_t count);
/// `count` random bytes as 2 * `count` lower-case hex digits: the vault's key file format
/// (`nauto creds keygen` writes one without asking nautod, which needs the key to start).
Result<std::string> random_hex(std::size_t count);

}  // namespace nauto
