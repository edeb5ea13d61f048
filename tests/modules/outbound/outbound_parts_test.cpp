// The outbound module's pure parts: an http.request read field by field, the retry rules (never
// repeat a change), vault references filled in and redacted, and what each channel sends.

#include <catch2/catch.hpp>

#include "http_call.h"
#include "notification.h"
#include "secret_refs.h"

using namespace nauto;
using namespace nauto::outbound;
using nlohmann::json;

TEST_CASE("http.request bodies are read field by field, errors name the field", "[outbound]") {
  auto call = parse_http_call(json{{"method", "post"},
                                   {"url", "https://hooks.example.net/x"},
                                   {"headers", {{"X-Team", "netops"}}},
                                   {"json", {{"text", "hi"}}},
                                   {"timeout", "2s"},
                                   {"retry", {{"attempts", 5}, {"delay", 0.5}}},
                                   {"expect_status", json::array({200, 202})}});
  REQUIRE(call);
  CHECK(call->method == "POST");
  CHECK(call->body == R"({"text":"hi"})");
  CHECK(call->timeout_ms == 2000);
  CHECK(call->attempts == 5);
  CHECK(call->delay_ms == 500);
  CHECK(call->headers.back() ==
        std::make_pair(std::string("Content-Type"), std::string("application/json")));
  CHECK(expected_status(*call, 202));
  CHECK_FALSE(expected_status(*call, 204));

  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"url", "ftp://x"}}, "url: expected an http:// or https:// URL"},
      {json{{"url", "https://x/\r\nHost: y"}}, "url: control characters"},
      {json{{"url", "https://x"}, {"headers", {{"Bad Name", "v"}}}}, "headers.Bad Name"},
      {json{{"url", "https://x"}, {"headers", {{"X", "a\nb"}}}}, "headers.X: control characters"},
      {json{{"url", "https://x"}, {"json", 1}, {"data", "x"}}, "json: give json or data"},
      {json{{"url", "https://x"}, {"timeout", "forever"}}, "timeout:"},
      {json{{"url", "https://x"}, {"retry", {{"attempts", 0}}}}, "retry.attempts"},
      {json{{"url", "https://x"}, {"sign", {{"credential", "k"}, {"scheme", "md5"}}}},
       "sign.scheme"},
      {json{{"method", "GE T"}, {"url", "https://x"}}, "method:"},
      {json{{"url", "https://x"}, {"sign", {{"credential", 5}}}},
       "sign.credential: expected a string"},
  };
  for (const auto& [body, message] : bad) {
    INFO(body.dump());
    auto refused = parse_http_call(body);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::InvalidArgument);
    CHECK(refused.error().message.find(message) != std::string::npos);
  }
}

TEST_CASE("retries never repeat a change the server may have made", "[outbound]") {
  HttpCall post;
  post.method = "POST";
  post.attempts = 3;
  post.delay_ms = 100;
  HttpCall get = post;
  get.method = "GET";
  Attempt refused;  // connection refused: nothing left
  CHECK(retry_after(post, refused, 1, 0) == 100);
  Attempt timed_out;
  timed_out.sent = true;
  timed_out.error = "Operation timed out";
  CHECK_FALSE(retry_after(post, timed_out, 1, 0));
  CHECK(retry_after(get, timed_out, 1, 0) == 100);
  Attempt busy;
  busy.status = 503;
  busy.sent = true;
  busy.headers["retry-after"] = "2";
  CHECK(retry_after(post, busy, 1, 0) == 2000);  // refused without acting: Retry-After honoured
  Attempt broken;
  broken.status = 500;
  broken.sent = true;
  CHECK_FALSE(retry_after(post, broken, 1, 0));
  CHECK(retry_after(get, broken, 2, 100) == 200);  // backoff 2
  CHECK_FALSE(retry_after(get, broken, 3, 200));   // the last attempt
  post.retry_unsafe = true;
  CHECK(retry_after(post, broken, 1, 0) == 100);
  Attempt untrusted;
  untrusted.tls_failure = true;
  CHECK_FALSE(retry_after(get, untrusted, 1, 0));
  Attempt not_found;
  not_found.status = 404;
  CHECK_FALSE(retry_after(get, not_found, 1, 0));
}

TEST_CASE("vault references are filled in only here, and taken back out of answers", "[outbound]") {
  const std::string url = "https://hooks.slack.com/services/${vault:slack:password}";
  CHECK(referenced_credentials(url) == std::set<std::string>{"slack"});
  CHECK(referenced_credentials("${vault:bad name:x} ${vault:x} ${vault:a:}").empty());
  std::map<std::string, json> resolved{
      {"slack", {{"username", "bot"}, {"password", "T0/B0/XYZ123"}}}};
  auto filled = substitute_secrets(url, resolved);
  REQUIRE(filled);
  CHECK(*filled == "https://hooks.slack.com/services/T0/B0/XYZ123");
  auto missing = substitute_secrets("${vault:slack:enable_secret}", resolved);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "vault credential 'slack' has no enable_secret");
  CHECK(redact_values("echo: T0/B0/XYZ123!", secret_values(resolved)) == "echo: <redacted>!");
  CHECK(secret_values(resolved).count("bot") == 0);  // a user name is not a secret
}

TEST_CASE("channels: the JSON each chat service expects, and a mail", "[outbound]") {
  auto channels = parse_channels(json{
      {"netops",
       {{"type", "slack"}, {"url", "https://hooks.slack.com/services/T/B/X"}, {"channel", "#noc"}}},
      {"noc", {{"type", "teams"}, {"url", "https://example.logic.azure.com/workflows/1"}}},
      {"mm", {{"type", "mattermost"}, {"url", "https://mm.example.net/hooks/abc"}}},
      {"mail",
       {{"type", "email"},
        {"server", "smtp://127.0.0.1:2525"},
        {"from", "nauto@example.net"},
        {"to", json::array({"noc@example.net"})}}}});
  REQUIRE(channels);
  Message message{"r1: BGP neighbor 10.0.0.2 is down", "BGP alarm", "critical", "run 1 (bgp)"};
  CHECK(chat_payload(channels->at("netops"), message) ==
        json{{"text", "BGP alarm\nr1: BGP neighbor 10.0.0.2 is down"}, {"channel", "#noc"}});
  const auto teams = chat_payload(channels->at("noc"), message);
  CHECK(teams["type"] == "message");
  CHECK(teams["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive");
  CHECK(teams["attachments"][0]["content"]["body"][1]["text"] == message.text);
  CHECK(chat_payload(channels->at("mm"), message)["text"] ==
        "BGP alarm\nr1: BGP neighbor 10.0.0.2 is down");
  const auto mail = mail_text(channels->at("mail"), message, 1'796'000'000, "abc@example.net");
  CHECK(mail.find("Subject: BGP alarm\r\n") != std::string::npos);
  CHECK(mail.find("To: noc@example.net\r\n") != std::string::npos);
  CHECK(mail.find("\r\n\r\nr1: BGP neighbor 10.0.0.2 is down\r\n") != std::string::npos);

  auto bad = parse_channels(
      json{{"x", {{"type", "pager"}}}, {"m", {{"type", "email"}, {"server", "mail.example.net"}}}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("modules.outbound.channels.x.type") != std::string::npos);
  CHECK(bad.error().message.find("modules.outbound.channels.m.server: expected smtp://") !=
        std::string::npos);
  Message injected{"text", "subject\r\nBcc: everyone@example.net", "", ""};
  CHECK(mail_text(channels->at("mail"), injected, 0, "x@y").find("\r\nBcc:") == std::string::npos);
}
