// The webhook module's request checks and HTTP server, without a bus: signatures, body
// validation, and a real server on 127.0.0.1 answering each kind of bad request.

#include <httplib.h>
#include <poll.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "nauto/base/digest.h"
#include "nauto/sdk/ingest_guard.h"
#include "webhook_request.h"
#include "webhook_server.h"

using namespace nauto;
using namespace nauto::webhook;

TEST_CASE("a webhook body is signed with the hook's secret", "[webhook]") {
  const std::string body = R"({"device": "r1", "kind": "interface.down"})";
  const auto signature = hmac_sha256_hex("s3cret", body);
  CHECK(check_signature("s3cret", body, "sha256=" + signature));
  CHECK(check_signature("s3cret", body, signature));  // bare hex, GitHub's older form
  std::string upper = signature;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(check_signature("s3cret", body, "SHA256=" + upper));

  auto missing = check_signature("s3cret", body, "");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::Unauthenticated);
  CHECK(missing.error().message.find("X-Nauto-Signature") != std::string::npos);
  auto wrong_secret = check_signature("other", body, "sha256=" + signature);
  REQUIRE_FALSE(wrong_secret);
  CHECK(wrong_secret.error().message.find("does not match") != std::string::npos);
  auto changed_body = check_signature("s3cret", body + " ", "sha256=" + signature);
  CHECK_FALSE(changed_body);
  auto short_hex = check_signature("s3cret", body, "sha256=abcd");
  REQUIRE_FALSE(short_hex);
  CHECK(short_hex.error().message.find("64 hex digits") != std::string::npos);
  // The secret never appears in what is said about a failure.
  CHECK(wrong_secret.error().message.find("other") == std::string::npos);
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

namespace {

std::string signed_header(const std::string& secret, const std::string& body) {
  return "sha256=" + hmac_sha256_hex(secret, body);
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

}  // namespace

TEST_CASE("the webhook server answers every kind of request and counts it", "[webhook]") {
  ServerOptions options;
  options.port = 0;
  options.max_body = 2048;
  options.queue = 2;
  auto started = WebhookServer::start(options, {"monitoring"});
  REQUIRE(started);
  auto& server = **started;
  const auto address = server.address();
  httplib::Client client("127.0.0.1", std::stoi(address.substr(address.rfind(':') + 1)));
  const std::string body =
      R"({"device": "r1", "kind": "bgp.down", "fields": {"neighbor": "10.0.0.2"}})";
  auto post = [&](const std::string& path, const std::string& text, const std::string& sig) {
    httplib::Headers headers;
    if (!sig.empty()) headers.emplace("X-Nauto-Signature", sig);
    auto result = client.Post(path.c_str(), headers, text, "application/json");
    REQUIRE(result);
    return std::make_pair(result->status, result->body);
  };

  // No secret yet: the hook is not ready, and says so.
  CHECK(post("/hooks/monitoring", body, signed_header("k", body)).first == 503);
  server.set_secret("monitoring", "k");

  auto accepted = post("/hooks/monitoring", body, signed_header("k", body));
  CHECK(accepted.first == 202);
  CHECK(accepted.second.find("bgp.down") != std::string::npos);
  REQUIRE(readable(server.fd(), 2000));
  auto deliveries = server.take();
  REQUIRE(deliveries.size() == 1);
  CHECK(deliveries[0].hook == "monitoring");
  CHECK(deliveries[0].peer == "127.0.0.1");
  CHECK(deliveries[0].event.fields["neighbor"] == "10.0.0.2");
  CHECK_FALSE(readable(server.fd(), 0));

  auto unsigned_post = post("/hooks/monitoring", body, "");
  CHECK(unsigned_post.first == 401);
  CHECK(unsigned_post.second.find("X-Nauto-Signature") != std::string::npos);
  CHECK(post("/hooks/monitoring", body, signed_header("guess", body)).first == 401);
  const std::string broken = R"({"device": )";
  auto malformed = post("/hooks/monitoring", broken, signed_header("k", broken));
  CHECK(malformed.first == 400);
  CHECK(malformed.second.find("not JSON") != std::string::npos);
  CHECK(post("/hooks/other", body, signed_header("k", body)).first == 404);
  const std::string huge(4096, 'x');
  CHECK(post("/hooks/monitoring", huge, signed_header("k", huge)).first == 413);

  // A full hand-off queue refuses with 429 rather than growing.
  CHECK(post("/hooks/monitoring", body, signed_header("k", body)).first == 202);
  CHECK(post("/hooks/monitoring", body, signed_header("k", body)).first == 202);
  auto shed = post("/hooks/monitoring", body, signed_header("k", body));
  CHECK(shed.first == 429);
  CHECK(server.take().size() == 2);
  CHECK(post("/hooks/monitoring", body, signed_header("k", body)).first == 202);

  // Requests are counted as their answer is logged, just after it is sent: wait for the last.
  auto c = server.counters();
  for (int i = 0; i < 200 && c.requests < 11; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    c = server.counters();
  }
  CHECK(c.requests == 11);
  CHECK(c.accepted == 4);
  CHECK(c.not_ready == 1);
  CHECK(c.rejected == 2);
  CHECK(c.malformed == 1);
  CHECK(c.unknown_hook == 1);
  CHECK(c.too_large == 1);
  CHECK(c.shed == 1);
}

TEST_CASE("the webhook server refuses an address it cannot bind", "[webhook]") {
  ServerOptions options;
  options.host = "192.0.2.1";  // TEST-NET: never an address of this host; nothing is sent
  options.port = 0;
  auto started = WebhookServer::start(options, {"h"});
  REQUIRE_FALSE(started);
  CHECK(started.error().message.find("cannot listen on 192.0.2.1") != std::string::npos);
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
