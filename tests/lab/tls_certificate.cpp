#include "tls_certificate.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>

namespace nauto::lab {

Result<CertificateFiles> ensure_certificate(const std::string& dir) {
  CertificateFiles files{dir + "/lab.crt", dir + "/lab.key"};
  if (std::filesystem::exists(files.certificate) && std::filesystem::exists(files.private_key))
    return files;
  std::filesystem::create_directories(dir);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (!key || !cert) return fail(Errc::Library, "OpenSSL could not create a key or certificate");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(std::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("nauto-lab"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("nauto-lab"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    if (extension == nullptr)
      return fail(Errc::Library, "OpenSSL rejected a certificate extension");
    X509_add_ext(cert.get(), extension, -1);
    X509_EXTENSION_free(extension);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    return fail(Errc::Library, "OpenSSL could not sign the certificate");
  FILE* out = std::fopen(files.private_key.c_str(), "w");
  if (out == nullptr) return fail(Errc::System, "cannot write " + files.private_key);
  ::chmod(files.private_key.c_str(), 0600);
  PEM_write_PrivateKey(out, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(out);
  out = std::fopen(files.certificate.c_str(), "w");
  if (out == nullptr) return fail(Errc::System, "cannot write " + files.certificate);
  PEM_write_X509(out, cert.get());
  std::fclose(out);
  return files;
}

}  // namespace nauto::lab
