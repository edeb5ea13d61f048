#include "audit_signer.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace nauto::mod::audit {

namespace {

using Context = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

Result<EVP_PKEY*> make_key(const std::string& path) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!key) return fail(Errc::Library, "cannot make an ed25519 key");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  FILE* file = fd >= 0 ? ::fdopen(fd, "w") : nullptr;
  if (!file) {
    const auto why = std::string(std::strerror(errno));
    if (fd >= 0) ::close(fd);
    EVP_PKEY_free(key);
    return fail(Errc::System, "cannot create the audit signing key " + path + ": " + why);
  }
  const bool written = PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    EVP_PKEY_free(key);
    ::unlink(path.c_str());
    return fail(Errc::System, "cannot write the audit signing key " + path);
  }
  return key;
}

}  // namespace

void AuditSigner::KeyFree::operator()(EVP_PKEY* key) const {
  EVP_PKEY_free(key);
}

std::string head_message(std::uint64_t seq, const Hash& hash) {
  std::string message = "nauto audit head\n" + seq_key(seq);
  message.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  return message;
}

Result<AuditSigner> AuditSigner::open(const std::string& path) {
  EVP_PKEY* key = nullptr;
  if (FILE* file = std::fopen(path.c_str(), "re")) {
    key = PEM_read_PrivateKey(file, nullptr, nullptr, nullptr);
    std::fclose(file);
    if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
      EVP_PKEY_free(key);
      return fail(Errc::InvalidConfig,
                  path + " is not an ed25519 private key (PEM); move it away to have one made");
    }
  } else if (errno == ENOENT) {
    auto made = make_key(path);
    if (!made) return std::move(made).error();
    key = *made;
  } else {
    return fail(Errc::System,
                "cannot read the audit signing key " + path + ": " + std::strerror(errno));
  }
  return AuditSigner(std::shared_ptr<EVP_PKEY>(key, KeyFree{}));
}

AuditSigner::AuditSigner(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {
  std::uint8_t raw[32];
  std::size_t size = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &size) == 1) public_key_ = hex(raw, size);
}

std::string AuditSigner::sign(std::uint64_t seq, const Hash& hash) const {
  const auto message = head_message(seq, hash);
  Context context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::uint8_t signature[64];
  std::size_t size = sizeof signature;
  if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(context.get(), signature, &size,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    return "";
  return hex(signature, size);
}

bool AuditSigner::check(std::uint64_t seq, const Hash& hash, std::string_view signature) const {
  const auto bytes = bytes_from_hex(signature);
  if (!bytes || bytes->size() != 64) return false;
  const auto message = head_message(seq, hash);
  Context context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return context &&
         EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
         EVP_DigestVerify(context.get(), bytes->data(), bytes->size(),
                          reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

}  // namespace nauto::mod::audit
