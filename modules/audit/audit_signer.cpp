#include "audit_signer.h"

namespace nauto::mod::audit {

std::string head_message(std::uint64_t seq, const Hash& hash) {
  std::string message = "nauto audit head\n" + seq_key(seq);
  message.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  return message;
}

Result<AuditSigner> AuditSigner::open(const std::string& path) {
  auto key = SigningKey::open_or_create(path, "the audit signing key");
  if (!key) return std::move(key).error();
  return AuditSigner(std::move(*key));
}

std::string AuditSigner::sign(std::uint64_t seq, const Hash& hash) const {
  return key_.sign(head_message(seq, hash));
}

bool AuditSigner::check(std::uint64_t seq, const Hash& hash, std::string_view signature) const {
  return key_.check(head_message(seq, hash), signature);
}

}  // namespace nauto::mod::audit
