#pragma once
// What a webhook POST must be before it becomes a bus event: signed with the hook's shared
// secret (HMAC-SHA-256 of the raw body, GitHub's scheme) and a JSON object whose known keys
// have the right types. Pure functions, so the HTTP threads run them and tests reach them
// without a server.
//
//   POST /hooks/<hook>   X-Nauto-Signature: sha256=<hex HMAC-SHA-256(secret, body)>
//   {"device": "r1", "kind": "interface.down", "message": "...", "severity": "error",
//    "fields": {"interface": "Gi0/1"}, "host": "192.0.2.1", "timestamp": "..."}
//
// Every key is optional; `kind` defaults to "webhook"; the whole body is kept as `payload` so
// a rule can match what a sender's own format carries.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "nauto/base/result.h"

namespace nauto::webhook {

/// The signature header's value checked against the body: "sha256=<hex>" or bare hex, any case.
/// Errc::Unauthenticated with what is wrong (missing, malformed, does not match).
Result<void> check_signature(std::string_view secret, std::string_view body,
                             std::string_view header_value);

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
