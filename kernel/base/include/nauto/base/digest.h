#pragma once
// Digests as lower-case hex: what binds an approval to the exact diff it approved (SHA-256) and
// what signs a webhook (HMAC-SHA-256). OpenSSL's libcrypto does the work.

#include <string>
#include <string_view>

namespace nauto {

/// SHA-256 of `data`, 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);
/// HMAC-SHA-256 of `data` under `key`, 64 lower-case hex digits.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
/// Compares two strings in time independent of where they differ (signature checks).
bool equal_in_constant_time(std::string_view a, std::string_view b);

}  // namespace nauto
