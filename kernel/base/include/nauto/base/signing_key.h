#pragma once
// SigningKey: an ed25519 key pair (OpenSSL) kept in a PEM (PKCS#8) file, made with mode 0600
// when missing; and the check of a signature against a public key alone. What signs the audit
// chain's heads and the work items a control node puts on Redis for its workers: whoever holds
// only the public key can check, not sign.
//
// Thread: any (OpenSSL's signing contexts are made per call); the key is immutable.

#include <memory>
#include <string>
#include <string_view>

#include "nauto/base/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace nauto {

class SigningKey {
 public:
  /// Loads the key from `path`, or makes one there (0600) when the file does not exist.
  /// `what` names the key in errors ("the audit signing key").
  static Result<SigningKey> open_or_create(const std::string& path, std::string_view what);

  /// The signature of `message`, 128 lower-case hex digits (64 bytes).
  std::string sign(std::string_view message) const;
  /// Whether `signature` (hex) signs `message` with this key.
  bool check(std::string_view message, std::string_view signature) const;
  /// The public key, 64 lower-case hex digits (32 bytes).
  const std::string& public_key() const { return public_key_; }
  /// The private key's 32 raw bytes: a seed to derive other secrets from (never to be sent).
  std::string private_seed() const;

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* key) const;
  };
  explicit SigningKey(std::shared_ptr<EVP_PKEY> key);
  std::shared_ptr<EVP_PKEY> key_;
  std::string public_key_;
};

/// Whether `signature` (hex) signs `message` under the ed25519 `public_key` (hex). False for
/// any malformed input.
bool signature_valid(std::string_view public_key, std::string_view message,
                     std::string_view signature);

}  // namespace nauto
