#pragma once
// VaultFile: named credentials encrypted at rest in one JSON file.
//
// Each credential is sealed with AES-256-GCM under the vault key, with a fresh 96-bit nonce
// per write and the credential's name as associated data (so an entry cannot be moved under
// another name). A sealed manifest lists every entry with its nonce, so removing, adding or
// rolling back an entry is detected as tampering too. The key comes from a passphrase through
// scrypt (salt in the file) or from a key file of 32 random bytes (64 hex digits).
//
// Errors are written so an operator knows what to do: a wrong key says "wrong passphrase or key
// file"; a modified file names the entry that failed. No error or log line contains a secret.
// Not thread-safe; the vault module owns one.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::vault {

/// What a credential holds. Only `username` is ever shown; the rest are secrets.
struct Credential {
  std::string username;
  std::string password;
  std::string enable_secret;
  std::string private_key_file;  ///< a path, not a secret itself
  std::string key_passphrase;
};

/// How the vault key is obtained.
struct VaultKeySource {
  std::string passphrase;  ///< used when key_file is empty
  std::string key_file;
};

/// A listing entry: never the secret values.
struct CredentialInfo {
  std::string name;
  std::string username;
  std::vector<std::string> fields;  ///< which secrets are set: password, enable_secret, ...
  std::string updated;              ///< RFC 3339 UTC
};

class VaultFile {
 public:
  /// Opens `path` (creating an empty vault when it does not exist and `create` is true) and
  /// checks the key and the manifest.
  static Result<VaultFile> open(const std::string& path, const VaultKeySource& key, bool create);

  Result<Credential> get(const std::string& name) const;
  std::vector<CredentialInfo> list() const;
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  /// Adds or replaces; written to disk (atomically, mode 0600) before returning.
  Result<void> set(const std::string& name, const Credential& credential);
  Result<void> remove(const std::string& name);
  /// Re-seals every entry under a new key (fresh salt/nonces); the old key stops working.
  Result<void> rotate_key(const VaultKeySource& new_key);

  /// 64 hex digits from the system's random source, for a new key file.
  static Result<std::string> generate_key_file_text();

 private:
  struct Sealed {
    std::string nonce;       // 12 bytes
    std::string ciphertext;  // ciphertext followed by the 16-byte tag
    std::string updated;
    std::string username;  // kept in clear for listings; not a secret
    std::vector<std::string> fields;
  };
  Result<void> save() const;
  Result<std::string> seal_manifest(std::string& nonce) const;

  std::string path_;
  std::string key_;  // 32 bytes
  std::string kdf_;  // "scrypt" or "key-file"
  std::string salt_;
  std::map<std::string, Sealed> entries_;
};

/// A credential from NAUTO_CRED_<NAME>_USERNAME / _PASSWORD / _ENABLE_SECRET /
/// _PRIVATE_KEY_FILE / _KEY_PASSPHRASE (name upper-cased, other characters as '_');
/// std::nullopt when none of them is set.
std::optional<Credential> credential_from_environment(const std::string& name);

}  // namespace nauto::vault
