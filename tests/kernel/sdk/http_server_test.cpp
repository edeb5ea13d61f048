// HttpServer on 127.0.0.1 without a bus: answers given at once and later from another thread,
// streams that go on until ended or until their reader goes away or falls behind, bodies over
// the cap, and the TLS pair check.

#include "nauto/sdk/http_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

using namespace nauto;

namespace {

int port_of(const HttpServer& server) {
  const auto address = server.address();
  return std::stoi(address.substr(address.rfind(':') + 1));
}

// Requests the handler received, for the test's thread to answer.
struct Inbox {
  std::mutex mutex;
  std::condition_variable arrived;
  std::deque<HttpRequest> requests;
  std::vector<std::uint64_t> closed;

  HttpRequest next() {
    std::unique_lock lock(mutex);
    REQUIRE(arrived.wait_for(lock, std::chrono::seconds(5), [&] { return !requests.empty(); }));
    auto request = std::move(requests.front());
    requests.pop_front();
    return request;
  }
  bool closed_within(std::uint64_t id, int ms) {
    std::unique_lock lock(mutex);
    return arrived.wait_for(lock, std::chrono::milliseconds(ms), [&] {
      return std::find(closed.begin(), closed.end(), id) != closed.end();
    });
  }
};

std::unique_ptr<HttpServer> serve(Inbox& inbox, HttpServerOptions options = {}) {
  options.port = 0;
  auto started = HttpServer::start(
      options,
      [&inbox](HttpRequest request) {
        std::lock_guard lock(inbox.mutex);
        inbox.requests.push_back(std::move(request));
        inbox.arrived.notify_all();
      },
      [&inbox](std::uint64_t id) {
        std::lock_guard lock(inbox.mutex);
        inbox.closed.push_back(id);
        inbox.arrived.notify_all();
      });
  REQUIRE(started);
  return std::move(*started);
}

}  // namespace

TEST_CASE("a request is answered later from another thread, with its headers and query",
          "[sdk][http]") {
  Inbox inbox;
  auto server = serve(inbox);
  httplib::Client client("127.0.0.1", port_of(*server));
  std::thread answering([&] {
    auto request = inbox.next();
    CHECK(request.method == "POST");
    CHECK(request.path == "/api/v1/jobs/a%20b");  // segments are decoded by their reader
    CHECK(request.query_value("limit") == "5");
    CHECK(request.query_value("after") == "x&y");
    CHECK(std::string(request.query_value("q").value_or("(none)")) == "a b+c");
    CHECK_FALSE(request.query_value("none"));
    CHECK(request.header("X-Token") == "t1");
    CHECK(request.header("x-token") == "t1");
    CHECK(request.peer == "127.0.0.1");
    CHECK(request.body == R"({"a":1})");
    // The connection is parked, not polled: the answer comes whenever the module has it.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    server->answer(
        request.id,
        HttpResponse{201, R"({"ok":true})", "application/json", {{"Location", "/api/v1/jobs/1"}}});
  });
  auto got = client.Post("/api/v1/jobs/a%20b?limit=5&after=x%26y&q=a%20b%2Bc", {{"X-Token", "t1"}},
                         R"({"a":1})", "application/json");
  answering.join();
  REQUIRE(got);
  CHECK(got->status == 201);
  CHECK(got->body == R"({"ok":true})");
  CHECK(got->get_header_value("Location") == "/api/v1/jobs/1");
  CHECK(got->get_header_value("Content-Type") == "application/json");
  // The same kept-alive connection serves the next request.
  std::thread again([&] {
    auto request = inbox.next();
    server->answer(request.id, HttpResponse{404, "{}", "application/json", {}});
  });
  auto second = client.Get("/x");
  again.join();
  REQUIRE(second);
  CHECK(second->status == 404);
  const auto counters = server->counters();
  CHECK(counters.requests == 2);
  CHECK(counters.status_2xx == 1);
  CHECK(counters.status_4xx == 1);
}

TEST_CASE("an answer given inside the handler is sent at once", "[sdk][http]") {
  HttpServer* self = nullptr;
  auto started = HttpServer::start(HttpServerOptions{}, [&self](HttpRequest request) {
    self->answer(request.id, HttpResponse{200, request.path, "text/plain", {}});
  });
  REQUIRE(started);
  self = started->get();
  httplib::Client client("127.0.0.1", port_of(**started));
  for (int i = 0; i < 20; ++i) {
    auto got = client.Get("/n/" + std::to_string(i));
    REQUIRE(got);
    CHECK(got->body == "/n/" + std::to_string(i));
  }
}

TEST_CASE("a stream sends what comes until it is ended; a reader that leaves is noticed",
          "[sdk][http]") {
  Inbox inbox;
  auto server = serve(inbox);
  std::string received;
  std::thread streaming([&] {
    auto request = inbox.next();
    server->open_stream(request.id, HttpResponse{200, "", "text/event-stream", {}});
    for (int i = 0; i < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      CHECK(server->send(request.id, "data: " + std::to_string(i) + "\n\n"));
    }
    server->end_stream(request.id);
    CHECK(inbox.closed_within(request.id, 5000));
    CHECK_FALSE(server->send(request.id, "late"));
  });
  httplib::Client client("127.0.0.1", port_of(*server));
  auto got = client.Get("/stream", [&](const char* data, std::size_t size) {
    received.append(data, size);
    return true;
  });
  streaming.join();
  REQUIRE(got);
  CHECK(got->get_header_value("Content-Type") == "text/event-stream");
  CHECK(received == "data: 0\n\ndata: 1\n\ndata: 2\n\n");

  // A reader that goes away: the next bytes find the connection closed and the stream ends.
  std::atomic<bool> first_seen{false};
  std::thread leaving([&] {
    httplib::Client reader("127.0.0.1", port_of(*server));
    reader.Get("/stream", [&](const char*, std::size_t) {
      first_seen = true;
      return false;  // hang up
    });
  });
  auto request = inbox.next();
  server->open_stream(request.id, HttpResponse{200, "", "text/event-stream", {}});
  CHECK(server->send(request.id, "data: hello\n\n"));
  leaving.join();
  CHECK(first_seen);
  bool ended = false;
  for (int i = 0; i < 200 && !ended; ++i) {
    server->send(request.id, ": keepalive\n\n");
    ended = inbox.closed_within(request.id, 10);
  }
  CHECK(ended);
}

TEST_CASE("a stream whose reader falls too far behind is cut", "[sdk][http]") {
  Inbox inbox;
  HttpServerOptions options;
  options.max_stream_buffer = 64 * 1024;
  auto server = serve(inbox, options);
  // A reader that sends its request and never reads: the socket buffers fill, then ours.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<std::uint16_t>(port_of(*server)));
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) == 0);
  const std::string get = "GET /s HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(::send(fd, get.data(), get.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(get.size()));
  auto request = inbox.next();
  server->open_stream(request.id, HttpResponse{200, "", "text/event-stream", {}});
  const std::string chunk(16 * 1024, 'x');
  bool refused = false;
  for (int i = 0; i < 2000 && !refused; ++i) {
    refused = !server->send(request.id, chunk);
    if (i % 16 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(refused);
  CHECK(server->counters().streams_cut == 1);
  CHECK(inbox.closed_within(request.id, 5000));
  ::close(fd);
}

TEST_CASE("a body over the cap is refused before it is read", "[sdk][http]") {
  Inbox inbox;
  HttpServerOptions options;
  options.max_body = 1024;
  auto server = serve(inbox, options);
  httplib::Client client("127.0.0.1", port_of(*server));
  auto got = client.Post("/x", std::string(4096, 'a'), "application/json");
  REQUIRE(got);
  CHECK(got->status == 413);
  CHECK(server->counters().too_large == 1);
  CHECK(server->counters().requests == 0);
}

TEST_CASE("parked requests are answered 503 when the server stops", "[sdk][http]") {
  Inbox inbox;
  auto server = serve(inbox);
  httplib::Client client("127.0.0.1", port_of(*server));
  std::thread stopping([&] {
    inbox.next();  // never answered
    server.reset();
  });
  auto got = client.Get("/slow");
  stopping.join();
  REQUIRE(got);
  CHECK(got->status == 503);
}

TEST_CASE("a TLS pair is checked before it is used", "[sdk][http]") {
  CHECK(check_tls_pair("", "", "modules.api.tls").error().message ==
        "modules.api.tls: give both a certificate and its key");
  auto bad = check_tls_pair("not a certificate", "not a key", "modules.api.tls");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("modules.api.tls: the certificate is not PEM X.509") == 0);
  HttpServerOptions options;
  options.tls_cert_pem = "junk";
  options.tls_key_pem = "junk";
  auto refused = HttpServer::start(options, [](HttpRequest) {});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::InvalidConfig);
}
