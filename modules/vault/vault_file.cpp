#include "vault_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nauto/base/digest.h"

namespace nauto::vault {

using nlohmann::json;

namespace {

constexpr const char* kFormat = "nauto-vault/1";
constexpr std::size_t kKeyBytes = 32, kNonceBytes = 12, kTagBytes = 16, kSaltBytes = 16;
// scrypt cost: 32 MiB and about 0.1 s per unlock on one core, per the OWASP minimums.
constexpr std::uint64_t kScryptN = 1u << 15, kScryptR = 8, kScryptP = 1;

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Result<std::string> unbase64(const std::string& text, const std::string& what) {
  if (text.size() % 4 != 0) return fail(Errc::Malformed, what + " is not base64");
  std::string out(text.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return fail(Errc::Malformed, what + " is not base64");
  std::size_t size = static_cast<std::size_t>(n);
  if (!text.empty() && text.back() == '=') --size;
  if (text.size() > 1 && text[text.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

std::string now_rfc3339() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

Result<std::string> seal(const std::string& key, const std::string& nonce,
                         const std::string& associated, const std::string& plaintext) {
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int length = 0;
  std::string out(plaintext.size() + kTagBytes, '\0');
  auto* data = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(nonce.data())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length,
                        reinterpret_cast<const unsigned char*>(associated.data()),
                        static_cast<int>(associated.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), data, &length,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), data + length, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, data + plaintext.size()) !=
          1) {
    return fail(Errc::Library, "AES-256-GCM encryption failed");
  }
  return out;
}

// std::nullopt when the tag does not verify (wrong key or modified data).
std::optional<std::string> open_sealed(const std::string& key, const std::string& nonce,
                                       const std::string& associated, const std::string& sealed) {
  if (sealed.size() < kTagBytes || nonce.size() != kNonceBytes) return std::nullopt;
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  const std::size_t size = sealed.size() - kTagBytes;
  std::string out(size, '\0');
  auto* data = reinterpret_cast<unsigned char*>(out.data());
  int length = 0;
  std::string tag = sealed.substr(size);
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(nonce.data())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &length,
                        reinterpret_cast<const unsigned char*>(associated.data()),
                        static_cast<int>(associated.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), data, &length,
                        reinterpret_cast<const unsigned char*>(sealed.data()),
                        static_cast<int>(size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), data + length, &length) != 1) {
    return std::nullopt;
  }
  return out;
}

Result<std::string> derive_key(const VaultKeySource& source, const std::string& salt) {
  if (!source.key_file.empty()) {
    std::ifstream in(source.key_file);
    if (!in) {
      return fail(Errc::InvalidConfig, "cannot read the vault key file " + source.key_file +
                                           " (create one with `nauto creds keygen`)");
    }
    std::string text;
    in >> text;
    if (text.size() != 2 * kKeyBytes ||
        text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return fail(Errc::InvalidConfig,
                  "the vault key file " + source.key_file + " must hold 64 hex digits");
    }
    std::string key;
    for (std::size_t i = 0; i < text.size(); i += 2) {
      key += static_cast<char>(std::stoi(text.substr(i, 2), nullptr, 16));
    }
    return key;
  }
  if (source.passphrase.empty()) {
    return fail(Errc::InvalidConfig,
                "no vault key: set modules.vault.key_file, or the passphrase in "
                "NAUTO_VAULT_PASSPHRASE");
  }
  std::string key(kKeyBytes, '\0');
  if (EVP_PBE_scrypt(source.passphrase.data(), source.passphrase.size(),
                     reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), kScryptN,
                     kScryptR, kScryptP, 64ull << 20, reinterpret_cast<unsigned char*>(key.data()),
                     kKeyBytes) != 1) {
    return fail(Errc::Library, "scrypt key derivation failed");
  }
  return key;
}

json credential_json(const Credential& c) {
  return json{{"username", c.username},
              {"password", c.password},
              {"enable_secret", c.enable_secret},
              {"private_key_file", c.private_key_file},
              {"key_passphrase", c.key_passphrase}};
}

std::vector<std::string> secret_fields(const Credential& c) {
  std::vector<std::string> fields;
  if (!c.password.empty()) fields.push_back("password");
  if (!c.enable_secret.empty()) fields.push_back("enable_secret");
  if (!c.private_key_file.empty()) fields.push_back("private_key_file");
  if (!c.key_passphrase.empty()) fields.push_back("key_passphrase");
  return fields;
}

}  // namespace

Result<std::string> VaultFile::generate_key_file_text() {
  auto text = random_hex(kKeyBytes);
  if (!text) return text;
  return *text + "\n";
}

Result<std::string> VaultFile::seal_manifest(std::string& nonce) const {
  json manifest = json::object();
  for (const auto& [name, entry] : entries_)
    manifest[name] = base64(entry.nonce);
  auto fresh = random_bytes(kNonceBytes);
  if (!fresh) return fresh;
  nonce = *fresh;
  return seal(key_, nonce, std::string(kFormat) + ":manifest", manifest.dump());
}

Result<VaultFile> VaultFile::open(const std::string& path, const VaultKeySource& key, bool create) {
  VaultFile vault;
  vault.path_ = path;
  vault.kdf_ = key.key_file.empty() ? "scrypt" : "key-file";
  std::ifstream in(path);
  if (!in) {
    if (!create) {
      return fail(Errc::NotFound, "no vault at " + path + " (`nauto creds set` creates one)");
    }
    auto salt = random_bytes(kSaltBytes);
    if (!salt) return std::move(salt).error();
    vault.salt_ = *salt;
    auto derived = derive_key(key, vault.salt_);
    if (!derived) return std::move(derived).error();
    vault.key_ = *derived;
    if (auto saved = vault.save(); !saved) return std::move(saved).error();
    return vault;
  }
  std::stringstream text;
  text << in.rdbuf();
  json doc;
  try {
    doc = json::parse(text.str());
  } catch (const json::exception& e) {
    return fail(Errc::Malformed, "the vault file " + path + " is not valid JSON: " + e.what());
  }
  const auto where = "vault " + path;
  if (doc.value("format", "") != kFormat) {
    return fail(Errc::Malformed, where + ": unknown format '" + doc.value("format", "") +
                                     "' (expected " + kFormat + ")");
  }
  try {
    const auto& kdf = doc.at("kdf");
    vault.kdf_ = kdf.at("name").get<std::string>();
    if (vault.kdf_ == "scrypt") {
      auto salt = unbase64(kdf.at("salt").get<std::string>(), where + " salt");
      if (!salt) return std::move(salt).error();
      vault.salt_ = *salt;
      if (!key.key_file.empty()) {
        return fail(Errc::InvalidConfig,
                    where + " is sealed with a passphrase, but a key file was given");
      }
    } else if (key.key_file.empty()) {
      return fail(Errc::InvalidConfig,
                  where + " is sealed with a key file; set modules.vault.key_file");
    }
    auto derived = derive_key(key, vault.salt_);
    if (!derived) return std::move(derived).error();
    vault.key_ = *derived;
    for (const auto& [name, entry] : doc.at("entries").items()) {
      Sealed sealed;
      auto nonce = unbase64(entry.at("nonce").get<std::string>(), where + " entry " + name);
      auto data = unbase64(entry.at("data").get<std::string>(), where + " entry " + name);
      if (!nonce) return std::move(nonce).error();
      if (!data) return std::move(data).error();
      sealed.nonce = *nonce;
      sealed.ciphertext = *data;
      sealed.updated = entry.value("updated", "");
      sealed.username = entry.value("username", "");
      sealed.fields = entry.value("fields", std::vector<std::string>{});
      vault.entries_[name] = std::move(sealed);
    }
    auto manifest_nonce = unbase64(doc.at("manifest").at("nonce").get<std::string>(), where);
    auto manifest_data = unbase64(doc.at("manifest").at("data").get<std::string>(), where);
    if (!manifest_nonce) return std::move(manifest_nonce).error();
    if (!manifest_data) return std::move(manifest_data).error();
    auto manifest = open_sealed(vault.key_, *manifest_nonce, std::string(kFormat) + ":manifest",
                                *manifest_data);
    if (!manifest) {
      return fail(Errc::Unauthenticated,
                  "wrong passphrase or key file for " + where +
                      " (or its manifest was modified); nothing was changed");
    }
    json expected = json::object();
    for (const auto& [name, entry] : vault.entries_)
      expected[name] = base64(entry.nonce);
    if (json::parse(*manifest) != expected) {
      return fail(Errc::Untrusted, where +
                                       " was tampered with: its entries do not match the sealed "
                                       "manifest (an entry was added, removed or replaced)");
    }
  } catch (const json::exception& e) {
    return fail(Errc::Malformed, where + ": " + e.what());
  }
  return vault;
}

Result<Credential> VaultFile::get(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) {
    return fail(Errc::NotFound, "no credential '" + name + "' in the vault (`nauto creds list`)");
  }
  auto plaintext =
      open_sealed(key_, it->second.nonce, std::string(kFormat) + ":" + name, it->second.ciphertext);
  if (!plaintext) {
    return fail(Errc::Untrusted, "credential '" + name + "' in vault " + path_ +
                                     " fails authentication: the file was modified");
  }
  try {
    const auto j = json::parse(*plaintext);
    return Credential{j.value("username", ""), j.value("password", ""),
                      j.value("enable_secret", ""), j.value("private_key_file", ""),
                      j.value("key_passphrase", "")};
  } catch (const json::exception&) {
    return fail(Errc::Malformed, "credential '" + name + "' holds no readable record");
  }
}

std::vector<CredentialInfo> VaultFile::list() const {
  std::vector<CredentialInfo> out;
  for (const auto& [name, entry] : entries_) {
    out.push_back({name, entry.username, entry.fields, entry.updated});
  }
  return out;
}

Result<void> VaultFile::set(const std::string& name, const Credential& credential) {
  if (name.empty() || name.find_first_of(" \t\n/") != std::string::npos) {
    return fail(Errc::InvalidArgument,
                "credential names are non-empty and have no spaces or slashes: '" + name + "'");
  }
  auto nonce = random_bytes(kNonceBytes);
  if (!nonce) return std::move(nonce).error();
  auto sealed =
      seal(key_, *nonce, std::string(kFormat) + ":" + name, credential_json(credential).dump());
  if (!sealed) return std::move(sealed).error();
  auto previous = entries_.find(name);
  std::optional<Sealed> kept;
  if (previous != entries_.end()) kept = previous->second;
  entries_[name] = {*nonce, *sealed, now_rfc3339(), credential.username, secret_fields(credential)};
  if (auto saved = save(); !saved) {
    if (kept)
      entries_[name] = *kept;
    else
      entries_.erase(name);
    return saved;
  }
  return ok();
}

Result<void> VaultFile::remove(const std::string& name) {
  const auto it = entries_.find(name);
  if (it == entries_.end())
    return fail(Errc::NotFound, "no credential '" + name + "' in the vault");
  const auto kept = it->second;
  entries_.erase(it);
  if (auto saved = save(); !saved) {
    entries_[name] = kept;
    return saved;
  }
  return ok();
}

Result<void> VaultFile::rotate_key(const VaultKeySource& new_key) {
  std::map<std::string, Credential> plain;
  for (const auto& [name, entry] : entries_) {
    auto credential = get(name);
    if (!credential) return std::move(credential).error();
    plain[name] = *credential;
  }
  VaultFile next = *this;
  auto salt = random_bytes(kSaltBytes);
  if (!salt) return std::move(salt).error();
  next.salt_ = *salt;
  next.kdf_ = new_key.key_file.empty() ? "scrypt" : "key-file";
  auto derived = derive_key(new_key, next.salt_);
  if (!derived) return std::move(derived).error();
  next.key_ = *derived;
  for (const auto& [name, credential] : plain) {
    auto nonce = random_bytes(kNonceBytes);
    if (!nonce) return std::move(nonce).error();
    auto sealed = seal(next.key_, *nonce, std::string(kFormat) + ":" + name,
                       credential_json(credential).dump());
    if (!sealed) return std::move(sealed).error();
    next.entries_[name].nonce = *nonce;
    next.entries_[name].ciphertext = *sealed;
  }
  if (auto saved = next.save(); !saved) return saved;
  *this = std::move(next);
  return ok();
}

Result<void> VaultFile::save() const {
  std::string manifest_nonce;
  auto manifest = seal_manifest(manifest_nonce);
  if (!manifest) return std::move(manifest).error();
  json entries = json::object();
  for (const auto& [name, entry] : entries_) {
    entries[name] = {{"nonce", base64(entry.nonce)},
                     {"data", base64(entry.ciphertext)},
                     {"updated", entry.updated},
                     {"username", entry.username},
                     {"fields", entry.fields}};
  }
  json kdf = {{"name", kdf_}};
  if (kdf_ == "scrypt") {
    kdf["salt"] = base64(salt_);
    kdf["n"] = kScryptN;
    kdf["r"] = kScryptR;
    kdf["p"] = kScryptP;
  }
  const json doc = {{"format", kFormat},
                    {"kdf", kdf},
                    {"manifest", {{"nonce", base64(manifest_nonce)}, {"data", base64(*manifest)}}},
                    {"entries", entries}};
  const auto text = doc.dump(2) + "\n";
  // Write a sibling, fsync, rename: a crash leaves the old vault or the new one, never half.
  const auto temporary = path_ + ".tmp";
  std::error_code ignored;
  if (const auto parent = std::filesystem::path(path_).parent_path(); !parent.empty()) {
    std::filesystem::create_directories(parent, ignored);
  }
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Errc::System, "cannot write " + temporary + ": " + std::strerror(errno));
  std::size_t written = 0;
  while (written < text.size()) {
    const auto n = ::write(fd, text.data() + written, text.size() - written);
    if (n <= 0) {
      ::close(fd);
      return fail(Errc::System, "cannot write " + temporary + ": " + std::strerror(errno));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(temporary.c_str(), path_.c_str()) != 0) {
    return fail(Errc::System, "cannot replace " + path_ + ": " + std::strerror(errno));
  }
  return ok();
}

std::optional<Credential> credential_from_environment(const std::string& name) {
  std::string prefix = "NAUTO_CRED_";
  for (const char c : name) {
    prefix += std::isalnum(static_cast<unsigned char>(c))
                  ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                  : '_';
  }
  Credential credential;
  bool found = false;
  auto read = [&](const char* suffix, std::string& into) {
    if (const char* value = std::getenv((prefix + suffix).c_str())) {
      into = value;
      found = true;
    }
  };
  read("_USERNAME", credential.username);
  read("_PASSWORD", credential.password);
  read("_ENABLE_SECRET", credential.enable_secret);
  read("_PRIVATE_KEY_FILE", credential.private_key_file);
  read("_KEY_PASSPHRASE", credential.key_passphrase);
  if (!found) return std::nullopt;
  return credential;
}

}  // namespace nauto::vault
