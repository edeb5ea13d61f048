#include "nauto/sdk/webhook_signature.h"

#include "nauto/base/digest.h"

namespace nauto {

std::string webhook_signed_text(std::string_view timestamp, std::string_view nonce,
                                std::string_view body) {
  std::string text;
  text.reserve(timestamp.size() + nonce.size() + body.size() + 2);
  text.append(timestamp).append(1, '.').append(nonce).append(1, '.').append(body);
  return text;
}

Result<std::vector<std::string>> webhook_signature_headers(std::string_view secret,
                                                           std::string_view body,
                                                           std::int64_t unix_seconds) {
  auto nonce = random_hex(16);
  if (!nonce) return std::move(nonce).error();
  const auto timestamp = std::to_string(unix_seconds);
  return std::vector<std::string>{
      "X-Nauto-Timestamp: " + timestamp, "X-Nauto-Nonce: " + *nonce,
      "X-Nauto-Signature: sha256=" +
          hmac_sha256_hex(secret, webhook_signed_text(timestamp, *nonce, body))};
}

}  // namespace nauto
