#pragma once
// What a webhook POST must be before it becomes a bus event: signed with the hook's shared
// secret over a timestamp, a nonce and the raw body (so a captured request cannot be sent
// again), and a JSON object whose known keys have the right types. Pure functions, so the HTTP
// threads run them and tests reach them without a server.
//
//   POST /hooks/<hook>                   (the scheme: nauto/sdk/webhook_signature.h)
//   X-Nauto-Timestamp: <unix seconds>
//   X-Nauto-Nonce: <16-128 of A-Z a-z 0-9 _ ->   (unique per request)
//   X-Nauto-Signature: sha256=<hex HMAC-SHA-256(secret, "<timestamp>.<nonce>.<body>")>
//   {"device": "r1", "kind": "interface.down", "message": "...", "severity": "error",
//    "fields": {"interface": "Gi0/1"}, "host": "192.0.2.1", "timestamp": "..."}
//
// Every key is optional; `kind` defaults to "webhook"; the whole body is kept as `payload` so
// a rule can match what a sender's own format carries.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "nauto/base/result.h"

namespace nauto::webhook {

/// What the sender signs: the three headers' values and the raw body.
struct SignedRequest {
  std::string_view timestamp;  ///< X-Nauto-Timestamp
  std::string_view nonce;      ///< X-Nauto-Nonce
  std::string_view signature;  ///< X-Nauto-Signature: "sha256=<hex>" or bare hex, any case
  std::string_view body;
};

/// The signature checked against the timestamp, nonce and body, and the timestamp's form and
/// nonce's form checked (freshness and reuse are the ReplayGuard's). On success, the timestamp
/// in unix seconds. Errc::Unauthenticated with what is wrong (missing, malformed, does not
/// match); the secret is never part of the message.
Result<std::int64_t> check_signature(std::string_view secret, const SignedRequest& request);

/// A signed body, checked and normalised.
struct WebhookEvent {
  std::string device;  ///< the device the sender names (may be empty)
  std::string host;    ///< the device's hostname or address, when the sender gives one
  std::string kind = "webhook";
  std::string message;
  int severity = 5;  ///< 0 emergency .. 7 debug; notice when not given
  std::string timestamp;
  nlohmann::json fields = nlohmann::json::object();
  nlohmann::json payload;
};

/// Parses a body. Errc::InvalidArgument naming the key, what it is and what it should be.
Result<WebhookEvent> parse_webhook_event(std::string_view body);

}  // namespace nauto::webhook
