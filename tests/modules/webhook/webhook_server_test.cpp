// The webhook module's HTTP server on 127.0.0.1, without a bus: every kind of answer, and the
// abuse it must survive — a chunked body without end, senders that trickle, too many
// connections from one address, and a captured request sent again.

#include "webhook_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <thread>

#include "nauto/base/clock.h"
#include "nauto/sdk/connection_ledger.h"
#include "nauto/sdk/webhook_signature.h"

using namespace nauto;
using namespace nauto::webhook;

namespace {

const std::string kBody =
    R"({"device": "r1", "kind": "bgp.down", "fields": {"neighbor": "10.0.0.2"}})";

httplib::Headers signed_headers(const std::string& secret, const std::string& body,
                                std::int64_t at = now_us() / 1'000'000 + 1) {
  httplib::Headers headers;
  auto lines = webhook_signature_headers(secret, body, at);
  REQUIRE(lines);
  for (const auto& line : *lines) {
    const auto colon = line.find(": ");
    headers.emplace(line.substr(0, colon), line.substr(colon + 2));
  }
  return headers;
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

int port_of(const WebhookServer& server) {
  const auto address = server.address();
  return std::stoi(address.substr(address.rfind(':') + 1));
}

// A TCP connection to the server from `source` (any 127.x.y.z: all of 127/8 is loopback), so
// a test can be several senders.
int connect_from(const char* source, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &local.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) == 0);
  return fd;
}

bool send_all(int fd, const std::string& text) {
  return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

// True when the server closes the connection (end of input or a reset) within `timeout_ms`;
// anything it sends before is read and dropped.
bool closed_by_server(int fd, int timeout_ms) {
  const auto until_us = steady_us() + std::int64_t{timeout_ms} * 1000;
  char buffer[4096];
  do {
    const auto left_ms = std::max<std::int64_t>(0, (until_us - steady_us()) / 1000);
    if (!readable(fd, static_cast<int>(left_ms))) continue;
    const auto got = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return true;
  } while (steady_us() < until_us);
  return false;
}

template <typename Predicate>
ServerCounters counters_when(const WebhookServer& server, Predicate done) {
  auto c = server.counters();
  for (int i = 0; i < 300 && !done(c); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    c = server.counters();
  }
  return c;
}

// A server on any free port of 127.0.0.1 serving the hook "monitoring", with secret "k" unless
// `secret` is empty.
std::unique_ptr<WebhookServer> start_server(ServerOptions options,
                                            const std::string& secret = "k") {
  options.port = 0;
  auto started = WebhookServer::start(options, {"monitoring"});
  REQUIRE(started);
  if (!secret.empty()) (*started)->set_secret("monitoring", secret);
  return std::move(*started);
}

}  // namespace

TEST_CASE("the webhook server answers every kind of request and counts it", "[webhook]") {
  ServerOptions options;
  options.max_body = 2048;
  options.queue = 2;
  auto started = start_server(options, "");
  auto& server = *started;
  httplib::Client client("127.0.0.1", port_of(server));
  auto post = [&](const std::string& path, const std::string& text,
                  const httplib::Headers& headers) {
    auto result = client.Post(path.c_str(), headers, text, "application/json");
    REQUIRE(result);
    return std::make_pair(result->status, result->body);
  };

  // No secret yet: the hook is not ready, and says so.
  CHECK(post("/hooks/monitoring", kBody, signed_headers("k", kBody)).first == 503);
  server.set_secret("monitoring", "k");

  auto accepted = post("/hooks/monitoring", kBody, signed_headers("k", kBody));
  CHECK(accepted.first == 202);
  CHECK(accepted.second.find("bgp.down") != std::string::npos);
  REQUIRE(readable(server.fd(), 2000));
  auto deliveries = server.take();
  REQUIRE(deliveries.size() == 1);
  CHECK(deliveries[0].hook == "monitoring");
  CHECK(deliveries[0].peer == "127.0.0.1");
  CHECK(deliveries[0].event.fields["neighbor"] == "10.0.0.2");
  CHECK_FALSE(readable(server.fd(), 0));

  auto unsigned_post = post("/hooks/monitoring", kBody, {});
  CHECK(unsigned_post.first == 401);
  CHECK(unsigned_post.second.find("X-Nauto-Signature") != std::string::npos);
  CHECK(post("/hooks/monitoring", kBody, signed_headers("guess", kBody)).first == 401);
  const std::string broken = R"({"device": )";
  auto malformed = post("/hooks/monitoring", broken, signed_headers("k", broken));
  CHECK(malformed.first == 400);
  CHECK(malformed.second.find("not JSON") != std::string::npos);
  CHECK(post("/hooks/other", kBody, signed_headers("k", kBody)).first == 404);
  const std::string huge(4096, 'x');
  auto too_large = post("/hooks/monitoring", huge, signed_headers("k", huge));
  CHECK(too_large.first == 413);
  CHECK(too_large.second.find("max_body") != std::string::npos);
  auto got = client.Get("/hooks/monitoring");
  REQUIRE(got);
  CHECK(got->status == 405);

  // A full hand-off queue refuses with 429 rather than growing; the refused request was not
  // remembered as seen, so the sender may send it again as it is.
  CHECK(post("/hooks/monitoring", kBody, signed_headers("k", kBody)).first == 202);
  CHECK(post("/hooks/monitoring", kBody, signed_headers("k", kBody)).first == 202);
  const auto retried = signed_headers("k", kBody);
  auto shed = post("/hooks/monitoring", kBody, retried);
  CHECK(shed.first == 429);
  CHECK(server.take().size() == 2);
  CHECK(post("/hooks/monitoring", kBody, retried).first == 202);

  auto c = counters_when(server, [](const ServerCounters& c) { return c.requests >= 12; });
  CHECK(c.requests == 12);
  CHECK(c.accepted == 4);
  CHECK(c.not_ready == 1);
  CHECK(c.rejected == 2);
  CHECK(c.malformed == 2);
  CHECK(c.unknown_hook == 1);
  CHECK(c.too_large == 1);
  CHECK(c.shed == 1);
  CHECK(c.refused == 0);
  CHECK(c.timed_out == 0);
}

TEST_CASE("a captured webhook request cannot be sent again", "[webhook]") {
  ServerOptions options;
  options.replay_window_s = 60;
  auto started = start_server(options);
  auto& server = *started;
  httplib::Client client("127.0.0.1", port_of(server));
  auto post = [&](const httplib::Headers& headers) {
    auto result = client.Post("/hooks/monitoring", headers, kBody, "application/json");
    REQUIRE(result);
    return std::make_pair(result->status, result->body);
  };
  const auto captured = signed_headers("k", kBody);
  CHECK(post(captured).first == 202);
  auto replayed = post(captured);
  CHECK(replayed.first == 401);
  CHECK(replayed.second.find("already used") != std::string::npos);
  // An old capture, re-signed by nobody: its timestamp is outside the window.
  auto stale = post(signed_headers("k", kBody, now_us() / 1'000'000 - 120));
  CHECK(stale.first == 401);
  CHECK(stale.second.find("old") != std::string::npos);
  // Changing the timestamp or nonce of a capture breaks its signature.
  auto forged = captured;
  forged.erase("X-Nauto-Nonce");
  forged.emplace("X-Nauto-Nonce", "ffffffffffffffffffffffffffffffff");
  auto forged_answer = post(forged);
  CHECK(forged_answer.first == 401);
  CHECK(forged_answer.second.find("does not match") != std::string::npos);
  auto c = counters_when(server, [](const ServerCounters& c) { return c.requests >= 4; });
  CHECK(c.accepted == 1);
  CHECK(c.rejected == 3);
  CHECK(c.replayed == 2);
  CHECK(server.take().size() == 1);
}

TEST_CASE("a chunked body without end is cut off at the size cap", "[webhook]") {
  ServerOptions options;
  options.max_body = 2048;
  auto started = start_server(options);
  auto& server = *started;
  const int fd = connect_from("127.0.0.1", port_of(server));
  REQUIRE(send_all(fd,
                   "POST /hooks/monitoring HTTP/1.1\r\nHost: x\r\n"
                   "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"));
  // 64 KiB in 1 KiB chunks, 32 times the cap: the server must not wait for the end of it.
  const std::string chunk = "400\r\n" + std::string(1024, 'x') + "\r\n";
  for (int i = 0; i < 64; ++i)
    if (!send_all(fd, chunk)) break;  // already closed: fine
  CHECK(closed_by_server(fd, 2000));
  ::close(fd);
  auto c = counters_when(server, [](const ServerCounters& c) { return c.too_large >= 1; });
  CHECK(c.too_large == 1);
  CHECK(c.accepted == 0);

  // The server goes on serving.
  httplib::Client client("127.0.0.1", port_of(server));
  auto result =
      client.Post("/hooks/monitoring", signed_headers("k", kBody), kBody, "application/json");
  REQUIRE(result);
  CHECK(result->status == 202);
}

TEST_CASE("senders that trickle or crowd in are cut off and others are still served", "[webhook]") {
  ServerOptions options;
  options.per_address_connections = 4;
  options.request_timeout_ms = 700;
  auto started = start_server(options);
  auto& server = *started;
  const int port = port_of(server);

  // Ten slow senders from 127.0.0.2, each sending a header line every 100 ms and never
  // finishing: never idle, so only the request deadline can end them.
  std::vector<int> slow;
  for (int i = 0; i < 10; ++i) {
    slow.push_back(connect_from("127.0.0.2", port));
    REQUIRE(send_all(slow.back(), "POST /hooks/monitoring HTTP/1.1\r\nHost: x\r\n"));
  }
  // Six over the per-address limit are shut at once.
  auto c = counters_when(server, [](const ServerCounters& c) { return c.refused >= 6; });
  CHECK(c.connections == 10);
  CHECK(c.refused == 6);

  // Meanwhile a sender from 127.0.0.1 is answered at once.
  const auto asked_us = steady_us();
  httplib::Client client("127.0.0.1", port);
  auto result =
      client.Post("/hooks/monitoring", signed_headers("k", kBody), kBody, "application/json");
  REQUIRE(result);
  CHECK(result->status == 202);
  CHECK(steady_us() - asked_us < 300'000);

  // Trickle until every slow sender has been closed by the server (at most 3 s).
  std::vector<bool> open(slow.size(), true);
  std::size_t still_open = slow.size();
  const auto give_up_us = steady_us() + 3'000'000;
  const auto trickle_from_us = steady_us();
  while (still_open > 0 && steady_us() < give_up_us) {
    for (std::size_t i = 0; i < slow.size(); ++i) {
      if (!open[i]) continue;
      if (!send_all(slow[i], "X-Slow: 1\r\n") || closed_by_server(slow[i], 0)) {
        open[i] = false;
        --still_open;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(still_open == 0);
  CHECK(steady_us() - trickle_from_us < 2'000'000);  // the 700 ms deadline, not the 5 s idle
  for (int fd : slow)
    ::close(fd);
  c = counters_when(server, [](const ServerCounters& c) { return c.timed_out >= 4; });
  CHECK(c.timed_out == 4);
  CHECK(c.accepted == 1);
}

TEST_CASE("the webhook server refuses an address it cannot bind", "[webhook]") {
  ServerOptions options;
  options.host = "192.0.2.1";  // TEST-NET: never an address of this host; nothing is sent
  options.port = 0;
  auto started = WebhookServer::start(options, {"h"});
  REQUIRE_FALSE(started);
  CHECK(started.error().message.find("cannot listen on 192.0.2.1") != std::string::npos);
}
