#pragma once
// The webhook signature scheme, shared by the sender (the rules' `webhook:` action) and the
// receiver (the webhook module): HMAC-SHA-256 under the hook's secret over
// "<timestamp>.<nonce>.<body>", so neither the body nor a replay of the whole request can pass
// without the secret. Headers:
//   X-Nauto-Timestamp: <unix seconds>
//   X-Nauto-Nonce: <32 random hex digits; new for each request>
//   X-Nauto-Signature: sha256=<64 hex digits>
// Thread-safe (pure, and OpenSSL's CSPRNG for the nonce).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nauto/base/result.h"

namespace nauto {

/// The text the HMAC covers.
std::string webhook_signed_text(std::string_view timestamp, std::string_view nonce,
                                std::string_view body);

/// The three headers ("Name: value") signing `body` at `unix_seconds` with a fresh nonce.
/// Errc::Library when the CSPRNG has no entropy.
Result<std::vector<std::string>> webhook_signature_headers(std::string_view secret,
                                                           std::string_view body,
                                                           std::int64_t unix_seconds);

}  // namespace nauto
