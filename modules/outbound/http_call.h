#pragma once
// HttpCall: one http.request as this module performs it — what to send, how long to wait, when
// to try again — and the rules that decide, attempt by attempt, whether it is tried again.
//
// Retries never repeat a change the server may have made: an attempt is retried when nothing
// was sent (the connection failed), or the server refused it without acting (429, 503, with
// Retry-After honoured); a request that was sent and then failed (a timeout, a reset, a 500,
// 502 or 504) is retried only when its method is idempotent (GET HEAD PUT DELETE OPTIONS) or the
// caller said retry_unsafe. TLS verification failures and other 4xx answers are never retried.
// Thread-safe (pure).

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::outbound {

struct HttpCall {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                  ///< sent as is (json: already encoded)
  std::int64_t timeout_ms = 10'000;  ///< per attempt
  int attempts = 3;                  ///< at most, the first included
  std::int64_t delay_ms = 1'000;     ///< before the second attempt
  double backoff = 2.0;              ///< each later delay is this times the previous
  std::vector<int> expect_status;    ///< empty: any 2xx
  bool retry_unsafe = false;
  std::string ca_file;  ///< trust only this CA bundle (PEM); "": the system's
  /// Signing: the vault credential whose password is the HMAC key, and the scheme: "nauto"
  /// (X-Nauto-Timestamp/Nonce/Signature, nauto/sdk/webhook_signature.h) or "hmac-sha256" (one
  /// header, `sign_header`, "sha256=<hex>" over the body, as GitHub and many receivers check).
  std::string sign_credential;
  std::string sign_scheme = "nauto";
  std::string sign_header = "X-Signature-256";
};

/// Reads an http.request body: {method, url, headers, json | data, timeout, retry: {attempts,
/// delay, backoff} | attempts, expect_status, retry_unsafe, ca_file, sign: {credential,
/// scheme, header} | credential}. Errors: InvalidArgument naming the field.
Result<HttpCall> parse_http_call(const nlohmann::json& request);

/// GET, HEAD, PUT, DELETE, OPTIONS, TRACE (RFC 9110 9.2.2).
bool idempotent(const std::string& method);

/// What one attempt came back with.
struct Attempt {
  long status = 0;    ///< 0: no answer
  bool sent = false;  ///< any byte of the request left
  bool tls_failure = false;
  std::string error;                           ///< the transport's error, "" when an answer came
  std::map<std::string, std::string> headers;  ///< lower-cased names
  std::string body;
  bool truncated = false;
};

bool expected_status(const HttpCall& call, long status);

/// The delay before the next attempt, or nullopt when the call ends with this attempt
/// (`attempt` counts from 1). `delay_ms` is what the previous retry waited (0 for none).
std::optional<std::int64_t> retry_after(const HttpCall& call, const Attempt& outcome, int attempt,
                                        std::int64_t previous_delay_ms);

}  // namespace nauto::outbound
