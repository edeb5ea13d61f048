// The API benchmark's clients (tests/bench/api_bench.py runs them against a real nautod):
//
//   api_bench_client bus ENDPOINT SERVICE BODY_JSON COUNT
//     the same request COUNT times, one after another, straight over the bus (the baseline the
//     API is compared with: what `nauto call --batch` does); prints requests/s and latency.
//   api_bench_client sse HOST PORT TOKEN ENDPOINT CLIENTS RATE SECONDS
//     CLIENTS event streams over HTTPS (no certificate check: loopback) of the topic
//     bench.fanout, while this process publishes RATE events/s for SECONDS on the bus; each
//     event carries its send time, so each client measures how late it arrives.
// Both print one JSON line of figures.

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "nauto/base/clock.h"
#include "nauto/bus/client.h"

using nlohmann::json;
using namespace nauto;

namespace {

int usage() {
  std::cerr << "api_bench_client bus ENDPOINT SERVICE BODY_JSON COUNT\n"
               "api_bench_client sse HOST PORT TOKEN ENDPOINT CLIENTS RATE SECONDS\n";
  return 2;
}

json latency_figures(std::vector<std::int64_t> us) {
  return {{"p50_ms", bench::percentile(us, 50) / 1000.0},
          {"p99_ms", bench::percentile(us, 99) / 1000.0},
          {"max_ms", bench::percentile(us, 100) / 1000.0}};
}

int bus_mode(char** argv) {
  zmq::context_t context;
  auto client = bus::BusClient::connect(context, argv[2], "api-bench");
  if (!client) {
    std::cerr << client.error().describe() << "\n";
    return 1;
  }
  const std::string service = argv[3];
  const auto body = json::parse(argv[4]);
  const int count = std::stoi(argv[5]);
  std::vector<std::int64_t> latencies;
  latencies.reserve(static_cast<std::size_t>(count));
  const auto started = steady_us();
  for (int i = 0; i < count; ++i) {
    const auto sent = steady_us();
    auto reply = client->call(service, body, 10'000);
    if (!reply) {
      std::cerr << reply.error().describe() << "\n";
      return 1;
    }
    latencies.push_back(steady_us() - sent);
  }
  const double seconds = static_cast<double>(steady_us() - started) / 1e6;
  auto out = latency_figures(latencies);
  out["requests"] = count;
  out["requests_per_s"] = count / seconds;
  std::cout << out.dump() << "\n";
  return 0;
}

// One event stream over TLS, read on its own thread.
struct StreamClient {
  SSL* ssl = nullptr;
  int fd = -1;
  std::vector<std::int64_t> latencies;
  std::uint64_t events = 0;
};

bool open_stream(SSL_CTX* tls, StreamClient& client, int port, const std::string& token) {
  client.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(client.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    return false;
  client.ssl = SSL_new(tls);
  SSL_set_fd(client.ssl, client.fd);
  if (SSL_connect(client.ssl) != 1) return false;
  const std::string request =
      "GET /api/v1/events/stream?topic=bench.fanout HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      token + "\r\nAccept: text/event-stream\r\n\r\n";
  return SSL_write(client.ssl, request.data(), static_cast<int>(request.size())) > 0;
}

// Reads until the connection ends; each data line's sent_us gives the event's lateness.
void read_stream(StreamClient& client) {
  std::string buffer;
  char chunk[16384];
  for (;;) {
    const int got = SSL_read(client.ssl, chunk, sizeof chunk);
    if (got <= 0) return;
    const auto now = now_us();
    buffer.append(chunk, static_cast<std::size_t>(got));
    std::size_t at = 0;
    for (;;) {
      const auto line_end = buffer.find('\n', at);
      if (line_end == std::string::npos) break;
      const std::string_view line(buffer.data() + at, line_end - at);
      if (line.starts_with("data: ")) {
        const auto key = line.find("\"sent_us\":");
        if (key != std::string_view::npos) {
          const auto sent = std::strtoll(line.data() + key + 10, nullptr, 10);
          client.latencies.push_back(now - sent);
          ++client.events;
        }
      }
      at = line_end + 1;
    }
    buffer.erase(0, at);
  }
}

int sse_mode(char** argv) {
  const int port = std::stoi(argv[3]);
  const std::string token = argv[4];
  const std::string endpoint = argv[5];
  const int clients = std::stoi(argv[6]);
  const double rate = std::stod(argv[7]);
  const double seconds = std::stod(argv[8]);
  SSL_CTX* tls = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(tls, SSL_VERIFY_NONE, nullptr);
  std::vector<StreamClient> streams(static_cast<std::size_t>(clients));
  for (auto& stream : streams) {
    if (!open_stream(tls, stream, port, token)) {
      std::cerr << "cannot open an event stream: " << std::strerror(errno) << " "
                << ERR_error_string(ERR_get_error(), nullptr) << "\n";
      return 1;
    }
  }
  std::vector<std::thread> readers;
  for (auto& stream : streams)
    readers.emplace_back([&stream] { read_stream(stream); });
  // Every stream has been opened once its first keepalive-free frame (retry:) can be read; a
  // short pause lets the server register them all before the first event.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  zmq::context_t context;
  auto publisher = bus::BusClient::connect(context, endpoint, "api-bench-publisher");
  if (!publisher) {
    std::cerr << publisher.error().describe() << "\n";
    return 1;
  }
  const auto total = static_cast<std::uint64_t>(rate * seconds);
  bench::Pacer pacer(rate);
  const auto started = steady_us();
  for (std::uint64_t n = 0; n < total; ++n) {
    pacer.wait_for(n);
    if (auto sent = publisher->publish("bench.fanout", json{{"seq", n}, {"sent_us", now_us()}});
        !sent) {
      std::cerr << sent.error().describe() << "\n";
      return 1;
    }
  }
  const double published_s = static_cast<double>(steady_us() - started) / 1e6;
  // The tail: events still on their way.
  const auto expected = total * static_cast<std::uint64_t>(clients);
  for (int i = 0; i < 100; ++i) {
    std::uint64_t received = 0;
    for (const auto& stream : streams)
      received += stream.events;
    if (received >= expected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& stream : streams)
    ::shutdown(stream.fd, SHUT_RDWR);
  for (auto& reader : readers)
    reader.join();
  std::vector<std::int64_t> all;
  std::uint64_t received = 0;
  for (auto& stream : streams) {
    received += stream.events;
    all.insert(all.end(), stream.latencies.begin(), stream.latencies.end());
    SSL_free(stream.ssl);
    ::close(stream.fd);
  }
  SSL_CTX_free(tls);
  auto out = latency_figures(all);
  out["clients"] = clients;
  out["published"] = total;
  out["published_per_s"] = static_cast<double>(total) / published_s;
  out["expected"] = expected;
  out["received"] = received;
  out["lost"] = expected - std::min(expected, received);
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  if (argc == 6 && std::string(argv[1]) == "bus") return bus_mode(argv);
  if (argc == 9 && std::string(argv[1]) == "sse") return sse_mode(argv);
  return usage();
}
