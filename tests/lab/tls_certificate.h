#pragma once
// A self-signed TLS certificate for the lab's HTTPS APIs (eAPI, NX-API, dashboard), written to
// the state directory once and reused, so clients can pin or trust it (curl --cacert).

#include <string>

#include "nauto/base/result.h"

namespace nauto::lab {

struct CertificateFiles {
  std::string certificate;  ///< PEM path
  std::string private_key;  ///< PEM path
};

/// Loads <dir>/lab.crt and lab.key, or creates them (EC P-256, CN=nauto-lab,
/// SAN IP:127.0.0.1 and DNS:localhost, valid ten years).
Result<CertificateFiles> ensure_certificate(const std::string& dir);

}  // namespace nauto::lab
