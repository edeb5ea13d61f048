#pragma once
// AuditSigner: signs the audit chain's head - its last seq and hash - with an ed25519 key
// (nauto/base/signing_key.h), so a rewrite of the whole chain after an edit is still found: the
// hash signed at that seq no longer matches (audit_chain.h). The key is a PEM (PKCS#8) file,
// made with mode 0600 at the first start when missing. Keep a copy of its public key (`nauto
// audit verify` shows it) or forward the signed heads elsewhere: whoever can write the key file
// can re-sign.
//
// Thread: any.

#include <cstdint>
#include <string>
#include <string_view>

#include "audit_chain.h"
#include "nauto/base/result.h"
#include "nauto/base/signing_key.h"

namespace nauto::mod::audit {

class AuditSigner {
 public:
  /// Loads the key from `path`, or makes one there (0600) when the file does not exist.
  static Result<AuditSigner> open(const std::string& path);

  /// The signature of head (seq, hash), as hex.
  std::string sign(std::uint64_t seq, const Hash& hash) const;
  /// Whether `signature` (hex) signs head (seq, hash) with this key.
  bool check(std::uint64_t seq, const Hash& hash, std::string_view signature) const;
  /// The public key as hex (32 bytes), to compare with a copy kept elsewhere.
  const std::string& public_key() const { return key_.public_key(); }

 private:
  explicit AuditSigner(SigningKey key) : key_(std::move(key)) {}
  SigningKey key_;
};

/// The bytes a head's signature covers: a fixed label, the seq (8 bytes, big-endian), the hash.
std::string head_message(std::uint64_t seq, const Hash& hash);

}  // namespace nauto::mod::audit
