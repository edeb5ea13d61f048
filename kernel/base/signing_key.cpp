#include "nauto/base/signing_key.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

namespace nauto {

namespace {

using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out(text.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int high = digit(text[2 * i]), low = digit(text[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out[i] = static_cast<char>(high * 16 + low);
  }
  return out;
}

bool verify(EVP_PKEY* key, std::string_view message, std::string_view signature) {
  const auto bytes = unhex(signature);
  if (!key || !bytes || bytes->size() != 64) return false;
  DigestContext context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return context && EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key) == 1 &&
         EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(bytes->data()),
                          bytes->size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

Result<EVP_PKEY*> make_key(const std::string& path, std::string_view what) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!key) return fail(Errc::Library, "cannot make an ed25519 key");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  FILE* file = fd >= 0 ? ::fdopen(fd, "w") : nullptr;
  if (!file) {
    const auto why = std::string(std::strerror(errno));
    if (fd >= 0) ::close(fd);
    EVP_PKEY_free(key);
    return fail(Errc::System, "cannot create " + std::string(what) + " " + path + ": " + why);
  }
  const bool written = PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    EVP_PKEY_free(key);
    ::unlink(path.c_str());
    return fail(Errc::System, "cannot write " + std::string(what) + " " + path);
  }
  return key;
}

}  // namespace

void SigningKey::KeyFree::operator()(EVP_PKEY* key) const {
  EVP_PKEY_free(key);
}

Result<SigningKey> SigningKey::open_or_create(const std::string& path, std::string_view what) {
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
    auto made = make_key(path, what);
    if (!made) return std::move(made).error();
    key = *made;
  } else {
    return fail(Errc::System,
                "cannot read " + std::string(what) + " " + path + ": " + std::strerror(errno));
  }
  return SigningKey(std::shared_ptr<EVP_PKEY>(key, KeyFree{}));
}

SigningKey::SigningKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {
  unsigned char raw[32];
  std::size_t size = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &size) == 1) public_key_ = hex(raw, size);
}

std::string SigningKey::sign(std::string_view message) const {
  DigestContext context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char signature[64];
  std::size_t size = sizeof signature;
  if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(context.get(), signature, &size,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    return "";
  return hex(signature, size);
}

bool SigningKey::check(std::string_view message, std::string_view signature) const {
  return verify(key_.get(), message, signature);
}

std::string SigningKey::private_seed() const {
  unsigned char raw[32];
  std::size_t size = sizeof raw;
  if (EVP_PKEY_get_raw_private_key(key_.get(), raw, &size) != 1) return "";
  return std::string(reinterpret_cast<const char*>(raw), size);
}

bool signature_valid(std::string_view public_key, std::string_view message,
                     std::string_view signature) {
  const auto raw = unhex(public_key);
  if (!raw || raw->size() != 32) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                  reinterpret_cast<const unsigned char*>(raw->data()), raw->size()),
      EVP_PKEY_free);
  return verify(key.get(), message, signature);
}

}  // namespace nauto
