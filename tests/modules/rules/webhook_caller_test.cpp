// The rules' webhook action against an HTTP server on 127.0.0.1: signed POSTs, retries of 5xx,
// failures reported with the reason, and URLs whose path is never shown.

#include "webhook_caller.h"

#include <httplib.h>
#include <poll.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <thread>

#include "nauto/base/clock.h"
#include "nauto/base/digest.h"
#include "nauto/sdk/webhook_signature.h"

using namespace nauto;
using namespace nauto::rules;

namespace {

std::vector<WebhookOutcome> wait_outcomes(WebhookCaller& caller, std::size_t count) {
  std::vector<WebhookOutcome> all;
  for (int i = 0; i < 200 && all.size() < count; ++i) {
    pollfd p{caller.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) == 1)
      for (auto& outcome : caller.take())
        all.push_back(std::move(outcome));
  }
  return all;
}

}  // namespace

TEST_CASE("a webhook action POSTs the body, signed, and retries a 503", "[rules][webhook]") {
  httplib::Server server;
  std::atomic<int> flaky_calls{0};
  std::string seen_body, seen_signature, seen_rule, seen_timestamp, seen_nonce;
  server.Post("/hook/ok", [&](const httplib::Request& request, httplib::Response& response) {
    seen_body = request.body;
    seen_signature = request.get_header_value("X-Nauto-Signature");
    seen_timestamp = request.get_header_value("X-Nauto-Timestamp");
    seen_nonce = request.get_header_value("X-Nauto-Nonce");
    seen_rule = request.get_header_value("X-Nauto-Rule");
    response.status = 200;
  });
  server.Post("/hook/flaky", [&](const httplib::Request&, httplib::Response& response) {
    response.status = ++flaky_calls < 2 ? 503 : 204;
  });
  server.Post("/hook/gone",
              [&](const httplib::Request&, httplib::Response& response) { response.status = 404; });
  const int port = server.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread serving([&] { server.listen_after_bind(); });
  const std::string base = "http://127.0.0.1:" + std::to_string(port);

  WebhookCaller caller;
  const std::string body = R"({"device":"r1","text":"Gi0/1 down"})";
  REQUIRE(caller.submit({"notify", "chain1", "r1", base + "/hook/ok", body, "k3y", 5000}));
  REQUIRE(caller.submit({"notify", "chain2", "r1", base + "/hook/flaky", body, "", 5000}));
  REQUIRE(caller.submit({"notify", "chain3", "r1", base + "/hook/gone", body, "", 5000}));
  auto outcomes = wait_outcomes(caller, 3);
  server.stop();
  serving.join();
  REQUIRE(outcomes.size() == 3);

  CHECK(outcomes[0].error.empty());
  CHECK(outcomes[0].status == 200);
  CHECK(outcomes[0].call.secret.empty());  // not kept past the call
  CHECK(seen_body == body);
  // Signed over the timestamp, a fresh nonce and the body (nauto/sdk/webhook_signature.h).
  CHECK(seen_nonce.size() == 32);
  CHECK(std::abs(std::stoll(seen_timestamp) - now_us() / 1'000'000) < 60);
  CHECK(seen_signature ==
        "sha256=" + hmac_sha256_hex("k3y", webhook_signed_text(seen_timestamp, seen_nonce, body)));
  CHECK(seen_rule == "notify");

  CHECK(outcomes[1].error.empty());
  CHECK(outcomes[1].status == 204);
  CHECK(outcomes[1].attempts == 2);

  INFO(outcomes[2].error);
  CHECK_FALSE(outcomes[2].error.empty());
  CHECK(outcomes[2].error.find("404") != std::string::npos);
  CHECK(outcomes[2].attempts == 1);  // a 404 is not worth a retry
}

TEST_CASE("a webhook nobody answers fails with the reason, within its timeout",
          "[rules][webhook]") {
  // A port with nothing listening: bind one, note it, close it.
  int port = 0;
  {
    httplib::Server probe;
    port = probe.bind_to_any_port("127.0.0.1");
  }
  WebhookCaller caller;
  REQUIRE(
      caller.submit({"notify", "c", "r1", "http://127.0.0.1:" + std::to_string(port) + "/token-abc",
                     "{}", "", 2000}));
  auto outcomes = wait_outcomes(caller, 1);
  REQUIRE(outcomes.size() == 1);
  INFO(outcomes[0].error);
  CHECK_FALSE(outcomes[0].error.empty());
  CHECK(outcomes[0].status == 0);
  CHECK(outcomes[0].error.find("token-abc") == std::string::npos);
}

TEST_CASE("a full webhook queue says no", "[rules][webhook]") {
  WebhookCaller caller(1);
  int accepted = 0;
  // The worker takes one at once, so at most two fit at any moment: some of 20 are refused.
  for (int i = 0; i < 20; ++i)
    accepted += caller.submit({"r", "c", "", "http://127.0.0.1:9/x", "{}", "", 1000}) ? 1 : 0;
  CHECK(accepted < 20);
  CHECK(accepted >= 1);
}

TEST_CASE("only a URL's origin is shown", "[rules][webhook]") {
  CHECK(url_origin("https://hooks.slack.com/services/T0/B0/XYZ") == "https://hooks.slack.com/…");
  CHECK(url_origin("http://127.0.0.1:8080") == "http://127.0.0.1:8080");
  CHECK(url_origin("nonsense") == "…");
}
