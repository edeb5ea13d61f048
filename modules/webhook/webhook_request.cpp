#include "webhook_request.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "nauto/base/digest.h"
#include "nauto/sdk/ingest_guard.h"
#include "nauto/sdk/webhook_signature.h"

namespace nauto::webhook {

using nlohmann::json;

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Error invalid(const std::string& key, const std::string& what) {
  return Error{Errc::InvalidArgument, key + ": " + what, "webhook"};
}

// A kind becomes topic segments after `device.<name>.`: lower-case words of letters, digits,
// '_' and '-', separated by dots; at most 8 of them.
bool valid_kind(const std::string& kind) {
  if (kind.empty() || kind.size() > 100 || kind.front() == '.' || kind.back() == '.') return false;
  int segments = 1;
  char previous = 0;
  for (char c : kind) {
    if (c == '.') {
      if (previous == '.') return false;
      ++segments;
    } else if (!(std::islower(static_cast<unsigned char>(c)) ||
                 std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return false;
    }
    previous = c;
  }
  return segments <= 8;
}

Result<int> read_severity(const json& value) {
  if (value.is_number_integer()) {
    const auto number = value.get<std::int64_t>();
    if (number >= 0 && number <= 7) return static_cast<int>(number);
  } else if (value.is_string()) {
    if (auto severity = severity_from_name(value.get<std::string>())) return *severity;
  }
  return fail(Errc::InvalidArgument,
              "severity: " + value.dump() +
                  " is not a severity; give 0-7 or emergency, alert, critical, error, warning, "
                  "notice, info, debug");
}

Result<std::string> read_string(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return invalid(key, "expected a string, got " + std::string(it->type_name()) + " " +
                            it->dump().substr(0, 60));
  return it->get<std::string>();
}

bool is_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isxdigit(c) != 0; });
}

}  // namespace

Result<std::int64_t> check_signature(std::string_view secret, const SignedRequest& request) {
  if (request.signature.empty())
    return fail(Errc::Unauthenticated,
                "no signature: send X-Nauto-Timestamp, X-Nauto-Nonce and X-Nauto-Signature: "
                "sha256=<hex HMAC-SHA-256 of \"<timestamp>.<nonce>.<body>\" under the hook's "
                "secret>");
  std::int64_t seconds = 0;
  const auto* end = request.timestamp.data() + request.timestamp.size();
  auto [stop, error] = std::from_chars(request.timestamp.data(), end, seconds);
  if (request.timestamp.empty() || request.timestamp.size() > 12 || error != std::errc() ||
      stop != end || seconds <= 0)
    return fail(Errc::Unauthenticated,
                "X-Nauto-Timestamp: expected the time of sending in unix seconds");
  if (request.nonce.size() < 16 || request.nonce.size() > 128 ||
      !std::all_of(request.nonce.begin(), request.nonce.end(),
                   [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; }))
    return fail(Errc::Unauthenticated,
                "X-Nauto-Nonce: expected 16 to 128 letters, digits, '_' or '-', new for each "
                "request");
  std::string given = lower(request.signature);
  if (given.starts_with("sha256=")) given.erase(0, 7);
  if (given.size() != 64 || !is_hex(given))
    return fail(Errc::Unauthenticated, "malformed signature: expected sha256= and 64 hex digits");
  const auto expected =
      hmac_sha256_hex(secret, webhook_signed_text(request.timestamp, request.nonce, request.body));
  if (!equal_in_constant_time(given, expected))
    return fail(Errc::Unauthenticated,
                "signature does not match the timestamp, nonce and body: is the sender's "
                "secret the hook's secret?");
  return seconds;
}

Result<WebhookEvent> parse_webhook_event(std::string_view body) {
  json document;
  try {
    document = json::parse(body);
  } catch (const json::exception& e) {  // out_of_range too: a number too big (found by fuzzing)
    return fail(Errc::InvalidArgument, std::string("the body is not JSON: ") + e.what());
  }
  if (!document.is_object())
    return fail(Errc::InvalidArgument,
                std::string("the body must be a JSON object, not ") + document.type_name());
  WebhookEvent event;
  auto device = read_string(document, "device");
  if (!device) return std::move(device).error();
  event.device = std::move(*device);
  for (const char* key : {"host", "hostname", "address"}) {
    auto host = read_string(document, key);
    if (!host) return std::move(host).error();
    if (event.host.empty()) event.host = std::move(*host);
  }
  auto kind = read_string(document, "kind");
  if (!kind) return std::move(kind).error();
  if (!kind->empty()) {
    if (!valid_kind(*kind))
      return invalid("kind", "'" + kind->substr(0, 60) +
                                 "' is not an event kind: use lower-case letters, digits, _ and "
                                 "-, in at most 8 dot-separated words (interface.down)");
    event.kind = std::move(*kind);
  }
  auto message = read_string(document, "message");
  if (!message) return std::move(message).error();
  event.message = std::move(*message);
  auto timestamp = read_string(document, "timestamp");
  if (!timestamp) return std::move(timestamp).error();
  event.timestamp = std::move(*timestamp);
  if (auto it = document.find("severity"); it != document.end() && !it->is_null()) {
    auto severity = read_severity(*it);
    if (!severity) return std::move(severity).error();
    event.severity = *severity;
  }
  if (auto it = document.find("fields"); it != document.end() && !it->is_null()) {
    if (!it->is_object())
      return invalid("fields", std::string("expected an object of values, got ") + it->type_name());
    event.fields = *it;
  }
  if (event.device.empty() && event.host.empty())
    return fail(Errc::InvalidArgument,
                "name the device: give \"device\" (its inventory name) or \"host\" (its "
                "hostname or address)");
  event.payload = std::move(document);
  return event;
}

}  // namespace nauto::webhook
