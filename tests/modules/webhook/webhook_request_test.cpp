// The webhook module's pure request checks: the signature over timestamp, nonce and body, the
// replay guard, and the body's validation.

#include "webhook_request.h"

#include <catch2/catch.hpp>

#include "nauto/base/digest.h"
#include "nauto/sdk/ingest_guard.h"
#include "nauto/sdk/webhook_signature.h"
#include "replay_guard.h"

using namespace nauto;
using namespace nauto::webhook;

namespace {

const std::string kNonce = "0123456789abcdef0123";

std::string sign(const std::string& secret, const std::string& timestamp, const std::string& nonce,
                 const std::string& body) {
  return hmac_sha256_hex(secret, webhook_signed_text(timestamp, nonce, body));
}

}  // namespace

TEST_CASE("a webhook request is signed over its timestamp, nonce and body", "[webhook]") {
  const std::string body = R"({"device": "r1", "kind": "interface.down"})";
  const std::string at = "1700000000";
  const auto signature = sign("s3cret", at, kNonce, body);
  auto good = check_signature("s3cret", {at, kNonce, "sha256=" + signature, body});
  REQUIRE(good);
  CHECK(*good == 1700000000);
  CHECK(check_signature("s3cret", {at, kNonce, signature, body}));  // bare hex
  std::string upper = signature;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(check_signature("s3cret", {at, kNonce, "SHA256=" + upper, body}));

  auto refused = [](const Result<std::int64_t>& result, const std::string& says) {
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::Unauthenticated);
    INFO(result.error().message);
    CHECK(result.error().message.find(says) != std::string::npos);
    // The secret never appears in what is said about a failure.
    CHECK(result.error().message.find("s3cret") == std::string::npos);
  };
  refused(check_signature("s3cret", {at, kNonce, "", body}), "X-Nauto-Signature");
  refused(check_signature("other", {at, kNonce, "sha256=" + signature, body}), "does not match");
  // Each signed part matters: the body, the timestamp and the nonce.
  refused(check_signature("s3cret", {at, kNonce, "sha256=" + signature, body + " "}),
          "does not match");
  refused(check_signature("s3cret", {"1700000001", kNonce, "sha256=" + signature, body}),
          "does not match");
  refused(check_signature("s3cret", {at, kNonce + "x", "sha256=" + signature, body}),
          "does not match");
  refused(check_signature("s3cret", {at, kNonce, "sha256=abcd", body}), "64 hex digits");
  refused(check_signature("s3cret", {"", kNonce, "sha256=" + signature, body}),
          "X-Nauto-Timestamp");
  refused(check_signature("s3cret", {"17e8", kNonce, "sha256=" + signature, body}),
          "X-Nauto-Timestamp");
  refused(check_signature("s3cret", {"-5", kNonce, "sha256=" + signature, body}),
          "X-Nauto-Timestamp");
  refused(check_signature("s3cret", {at, "short", "sha256=" + signature, body}), "X-Nauto-Nonce");
  refused(check_signature("s3cret", {at, "0123456789abcdef\n", "sha256=" + signature, body}),
          "X-Nauto-Nonce");
}

TEST_CASE("the signing headers a sender adds are what the receiver checks", "[webhook]") {
  const std::string body = R"({"device": "r1"})";
  auto headers = webhook_signature_headers("k", body, 1700000000);
  REQUIRE(headers);
  REQUIRE(headers->size() == 3);
  auto value = [&](const std::string& name) {
    for (const auto& line : *headers)
      if (line.starts_with(name + ": ")) return line.substr(name.size() + 2);
    return std::string();
  };
  CHECK(value("X-Nauto-Timestamp") == "1700000000");
  CHECK(value("X-Nauto-Nonce").size() == 32);
  CHECK(check_signature(
      "k", {value("X-Nauto-Timestamp"), value("X-Nauto-Nonce"), value("X-Nauto-Signature"), body}));
  auto again = webhook_signature_headers("k", body, 1700000000);
  REQUIRE(again);
  CHECK((*again)[1] != (*headers)[1]);  // a new nonce each time
}

TEST_CASE("the replay guard takes each nonce once, and only fresh requests", "[webhook]") {
  const std::int64_t started = 1'700'000'000;
  ReplayGuard guard(300, 3, started);
  const std::int64_t now = started + 1000;
  CHECK(guard.admit("h", "nonce-a", now, now));
  auto replay = guard.admit("h", "nonce-a", now, now + 5);
  REQUIRE_FALSE(replay);
  CHECK(replay.error().code == Errc::Unauthenticated);
  CHECK(replay.error().message.find("already used") != std::string::npos);
  CHECK(guard.admit("other-hook", "nonce-a", now, now));  // nonces are per hook

  auto stale = guard.admit("h", "nonce-b", now - 301, now);
  REQUIRE_FALSE(stale);
  CHECK(stale.error().message.find("301 s old") != std::string::npos);
  auto ahead = guard.admit("h", "nonce-b", now + 301, now);
  REQUIRE_FALSE(ahead);
  CHECK(ahead.error().message.find("ahead") != std::string::npos);
  CHECK(guard.admit("h", "nonce-b", now - 300, now));  // the window's edge is inside

  // Memory is bounded: a fourth fresh request within the window is overload, not admitted.
  auto full = guard.admit("h", "nonce-c", now, now);
  REQUIRE_FALSE(full);
  CHECK(full.error().code == Errc::ResourceExhausted);
  // Once their timestamps leave the window the nonces are forgotten: a replay then is stale.
  CHECK(guard.admit("h", "nonce-c", now + 301, now + 301));
  CHECK(guard.remembered() == 1);
  CHECK_FALSE(guard.admit("h", "nonce-a", now, now + 301));

  // Nothing signed before the guard started is taken: its nonces were not remembered.
  ReplayGuard restarted(300, 10, now);
  auto before = restarted.admit("h", "nonce-z", now, now + 1);
  REQUIRE_FALSE(before);
  CHECK(before.error().message.find("before this listener started") != std::string::npos);
  CHECK(restarted.admit("h", "nonce-z", now + 1, now + 1));
}

TEST_CASE("a webhook body becomes an event, or a clear error", "[webhook]") {
  auto event = parse_webhook_event(R"({"device": "r1", "kind": "interface.down",
      "message": "Gi0/1 down", "severity": "err", "fields": {"interface": "Gi0/1"},
      "alert": {"labels": {"team": "net"}}})");
  REQUIRE(event);
  CHECK(event->device == "r1");
  CHECK(event->kind == "interface.down");
  CHECK(event->severity == 3);
  CHECK(event->fields["interface"] == "Gi0/1");
  CHECK(event->payload["alert"]["labels"]["team"] == "net");  // the sender's own keys kept

  auto by_host = parse_webhook_event(R"({"host": "192.0.2.1", "severity": 4})");
  REQUIRE(by_host);
  CHECK(by_host->host == "192.0.2.1");
  CHECK(by_host->kind == "webhook");
  CHECK(severity_name(by_host->severity) == "warning");

  auto expect_error = [](const std::string& body, const std::string& says) {
    auto parsed = parse_webhook_event(body);
    INFO(body);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == Errc::InvalidArgument);
    INFO(parsed.error().message);
    CHECK(parsed.error().message.find(says) != std::string::npos);
  };
  expect_error(R"({"device": "r1", )", "not JSON");
  expect_error(R"([1, 2])", "JSON object");
  expect_error(R"({"kind": "interface.down"})", "name the device");
  expect_error(R"({"device": 7})", "device: expected a string");
  expect_error(R"({"device": "r1", "kind": "Interface Down"})", "not an event kind");
  expect_error(R"({"device": "r1", "kind": "a..b"})", "not an event kind");
  expect_error(R"({"device": "r1", "kind": "a.b.c.d.e.f.g.h.i"})", "not an event kind");
  expect_error(R"({"device": "r1", "severity": 9})", "not a severity");
  expect_error(R"({"device": "r1", "severity": "loud"})", "not a severity");
  expect_error(R"({"device": "r1", "fields": [1]})", "fields: expected an object");
}

// Found by fuzzing (tests/fuzz/corpus/webhook/regression-*): a number too large for a double
// made nlohmann throw out_of_range, which the parser did not catch.
TEST_CASE("a body with a number out of range is refused, not thrown", "[webhook][fuzz]") {
  Result<WebhookEvent> event = fail(Errc::Bug, "not run");
  REQUIRE_NOTHROW(event = parse_webhook_event(R"({"host": -92.0E011111, "kind": "x"})"));
  REQUIRE_FALSE(event);
  CHECK(event.error().code == Errc::InvalidArgument);
  CHECK(event.error().message.find("the body is not JSON") != std::string::npos);
}
