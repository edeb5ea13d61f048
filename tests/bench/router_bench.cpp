// Router benchmark: events/s and latency through the kernel router beside raw ZeroMQ+msgpack
// in the same run, over inproc and ipc; and pipelined request/reply (64 in flight).
//   router_bench [EVENTS]
// Raw baseline: a DEALER sends the same three frames (topic, msgpack header, body) straight to
// a ROUTER that decodes each header: the least work any bus with this envelope must do.
// Through the router: DEALER -> kernel Router (decode header, match subscriptions, forward) ->
// subscriber DEALER that decodes the header.

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <zmq_addon.hpp>

#include "bench_util.h"
#include "nauto/bus/body.h"
#include "nauto/bus/client.h"
#include "nauto/bus/codec.h"
#include "router/router.h"

using namespace nauto;
using namespace nauto::bench;

namespace {

constexpr int kBodyBytes = 64;

std::string body_with_time() {
  std::string body(kBodyBytes, 'x');
  const auto t = steady_us();
  std::memcpy(body.data(), &t, sizeof t);
  return body;
}

std::int64_t time_in(const zmq::message_t& body) {
  std::int64_t t = 0;
  std::memcpy(&t, body.data(), sizeof t);
  return t;
}

struct Result {
  double per_second = 0;
  double p50_us = 0, p99_us = 0;
};

// Receives `count` envelopes on `socket` (frames after an optional identity), decoding each
// header; records one-way latency from the body's timestamp.
Result receive_all(zmq::socket_t& socket, std::uint64_t count, bool has_identity,
                   std::int64_t start_us) {
  std::vector<std::int64_t> latencies;
  latencies.reserve(count);
  std::vector<zmq::message_t> frames;
  for (std::uint64_t i = 0; i < count; ++i) {
    frames.clear();
    (void)zmq::recv_multipart(socket, std::back_inserter(frames));
    const std::size_t base = has_identity ? 1 : 0;
    auto header = bus::decode_header(
        std::string_view(frames[base + 1].data<char>(), frames[base + 1].size()));
    if (!header) std::abort();
    latencies.push_back(steady_us() - time_in(frames[base + 2]));
  }
  const auto elapsed = steady_us() - start_us;
  return {count * 1e6 / static_cast<double>(elapsed), percentile(latencies, 50),
          percentile(latencies, 99)};
}

void send_events(zmq::socket_t& socket, std::uint64_t count, double rate) {
  bus::Envelope e = bus::make_event("bench.event", "bench", "");
  Pacer pacer(rate > 0 ? rate : 1);
  for (std::uint64_t i = 0; i < count; ++i) {
    if (rate > 0) pacer.wait_for(i);
    e.header.id = std::to_string(i);
    e.body = body_with_time();
    auto frames = bus::encode_frames(e);
    zmq::send_multipart(socket, frames);
  }
}

Result raw_events(zmq::context_t& ctx, const std::string& endpoint, std::uint64_t count,
                  double rate) {
  zmq::socket_t sink(ctx, zmq::socket_type::router);
  sink.set(zmq::sockopt::rcvhwm, 0);
  sink.bind(endpoint);
  zmq::socket_t source(ctx, zmq::socket_type::dealer);
  source.set(zmq::sockopt::sndhwm, 0);
  source.connect(endpoint);
  // Warm-up: make sure the connection exists before timing.
  send_events(source, 1, 0);
  receive_all(sink, 1, true, steady_us());
  const auto start = steady_us();
  std::thread producer([&] { send_events(source, count, rate); });
  auto r = receive_all(sink, count, true, start);
  producer.join();
  return r;
}

// Runs a plain forwarding loop on `broker` until `done`: each message of at least `min_frames`
// frames is passed to `readdress` (which rewrites its routing frames) and sent on.
template <typename Readdress>
std::thread forward_until(zmq::socket_t& broker, std::atomic<bool>& done, std::size_t min_frames,
                          Readdress readdress) {
  return std::thread([&broker, &done, min_frames, readdress] {
    std::vector<zmq::message_t> frames;
    while (!done) {
      zmq::pollitem_t item{broker.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(20));
      for (int i = 0; i < 512; ++i) {
        frames.clear();
        if (!zmq::recv_multipart(broker, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
          break;
        }
        if (frames.size() < min_frames) continue;  // the hello that introduced a peer
        readdress(frames);
        zmq::send_multipart(broker, frames);
      }
    }
  });
}

// Raw ZeroMQ broker: the same topology as the kernel router (publisher -> broker thread ->
// subscriber) but the broker only forwards frames to one fixed subscriber: no header decode,
// no subscription matching, no counters. This isolates what the router's own logic costs.
Result raw_broker_events(zmq::context_t& ctx, const std::string& endpoint, std::uint64_t count,
                         double rate) {
  zmq::socket_t broker(ctx, zmq::socket_type::router);
  broker.set(zmq::sockopt::sndhwm, 0);
  broker.set(zmq::sockopt::rcvhwm, 0);
  broker.bind(endpoint);
  zmq::socket_t subscriber(ctx, zmq::socket_type::dealer);
  subscriber.set(zmq::sockopt::routing_id, "sub");
  subscriber.set(zmq::sockopt::rcvhwm, 0);
  subscriber.connect(endpoint);
  zmq::socket_t source(ctx, zmq::socket_type::dealer);
  source.set(zmq::sockopt::sndhwm, 0);
  source.connect(endpoint);
  subscriber.send(zmq::str_buffer("hello"));  // the broker learns the subscriber's identity
  std::atomic<bool> done{false};
  std::thread forwarder = forward_until(broker, done, 4, [](std::vector<zmq::message_t>& frames) {
    frames[0] = zmq::message_t(std::string_view("sub"));
  });
  send_events(source, 1, 0);
  receive_all(subscriber, 1, false, steady_us());
  const auto start = steady_us();
  std::thread producer([&] { send_events(source, count, rate); });
  auto r = receive_all(subscriber, count, false, start);
  producer.join();
  done = true;
  forwarder.join();
  return r;
}

Result router_events(zmq::context_t& ctx, const std::string& endpoint, std::uint64_t count,
                     double rate) {
  kernel::RouterOptions options;
  options.endpoints = {endpoint};
  options.peer_high_water_mark = 1000000;  // measure throughput, not drops
  auto router = kernel::Router::create(ctx, options);
  if (!router) std::abort();
  (*router)->start();
  bus::ClientOptions big;
  big.receive_high_water_mark = 0;
  big.send_high_water_mark = 0;
  auto subscriber = bus::BusClient::connect(ctx, endpoint, "sub", big);
  if (!subscriber || !subscriber->subscribe({"bench."}, 2000)) std::abort();
  auto source = bus::connect_client(ctx, endpoint, big);
  if (!source) std::abort();
  send_events(*source, 1, 0);
  receive_all(subscriber->socket(), 1, false, steady_us());
  const auto start = steady_us();
  std::thread producer([&] { send_events(*source, count, rate); });
  auto r = receive_all(subscriber->socket(), count, false, start);
  producer.join();
  return r;
}

// Pipelined requests: keep `window` in flight; returns requests/s and round-trip percentiles.
Result pipelined(zmq::socket_t& requester, zmq::socket_t& server, bool server_is_router,
                 std::uint64_t count, int window) {
  std::atomic<bool> done{false};
  std::thread echo([&] {
    std::vector<zmq::message_t> frames;
    while (!done) {
      zmq::pollitem_t item{server.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(20));
      while (true) {
        frames.clear();
        if (!zmq::recv_multipart(server, std::back_inserter(frames), zmq::recv_flags::dontwait))
          break;
        const std::size_t base = server_is_router ? 1 : 0;
        auto header = bus::decode_header(
            std::string_view(frames[base + 1].data<char>(), frames[base + 1].size()));
        if (!header) std::abort();
        bus::Header reply;
        reply.id = header->id + "r";
        reply.kind = bus::Kind::Reply;
        reply.correlation_id = header->id;
        reply.source = "echo";
        frames[base + 1] = zmq::message_t(bus::encode_header(reply));
        zmq::send_multipart(server, frames);
      }
    }
  });
  std::vector<std::int64_t> rtts;
  rtts.reserve(count);
  std::uint64_t sent = 0, received = 0;
  const auto start = steady_us();
  std::vector<zmq::message_t> frames;
  auto send_one = [&] {
    auto request = bus::make_request("bench.echo", "bench", body_with_time(), 10000);
    zmq::send_multipart(requester, bus::encode_frames(request));
    ++sent;
  };
  while (sent < static_cast<std::uint64_t>(window) && sent < count)
    send_one();
  while (received < count) {
    frames.clear();
    (void)zmq::recv_multipart(requester, std::back_inserter(frames));
    auto header = bus::decode_header(std::string_view(frames[1].data<char>(), frames[1].size()));
    if (!header || header->kind != bus::Kind::Reply) std::abort();
    rtts.push_back(steady_us() - time_in(frames[2]));
    ++received;
    if (sent < count) send_one();
  }
  const auto elapsed = steady_us() - start;
  done = true;
  echo.join();
  return {count * 1e6 / static_cast<double>(elapsed), percentile(rtts, 50), percentile(rtts, 99)};
}

Result raw_requests(zmq::context_t& ctx, const std::string& endpoint, std::uint64_t count) {
  zmq::socket_t server(ctx, zmq::socket_type::router);
  server.bind(endpoint);
  zmq::socket_t requester(ctx, zmq::socket_type::dealer);
  requester.connect(endpoint);
  return pipelined(requester, server, true, count, 64);
}

// Raw ZeroMQ request broker (the zguide's envelope stacking): requests are forwarded to the
// one service with the requester's identity as an extra frame, replies pop it to find their way
// back. No header decoding, no deadlines, no service lookup.
Result raw_broker_requests(zmq::context_t& ctx, const std::string& endpoint, std::uint64_t count) {
  zmq::socket_t broker(ctx, zmq::socket_type::router);
  broker.bind(endpoint);
  zmq::socket_t service(ctx, zmq::socket_type::dealer);
  service.set(zmq::sockopt::routing_id, "svc");
  service.connect(endpoint);
  zmq::socket_t requester(ctx, zmq::socket_type::dealer);
  requester.connect(endpoint);
  service.send(zmq::str_buffer("hello"));
  std::atomic<bool> done{false};
  std::thread forwarder = forward_until(broker, done, 4, [](std::vector<zmq::message_t>& frames) {
    if (frames[0].to_string_view() == "svc") {
      frames.erase(frames.begin());  // a reply: [requester][topic][header][body]
    } else {
      frames.insert(frames.begin(), zmq::message_t(std::string_view("svc")));
    }
  });
  auto r = pipelined(requester, service, true, count, 64);
  done = true;
  forwarder.join();
  return r;
}

// `audit_capacity` > 0: the router records every request for the audit module (issue 30; an
// undeclared service is an admin's, so recorded), as with an audit module configured.
Result router_requests(zmq::context_t& ctx, const std::string& endpoint, std::uint64_t count,
                       std::size_t audit_capacity = 0) {
  kernel::RouterOptions options;
  options.endpoints = {endpoint};
  options.peer_high_water_mark = 100000;
  options.audit_capacity = audit_capacity;
  auto router = kernel::Router::create(ctx, options);
  if (!router) std::abort();
  (*router)->start();
  auto server = bus::BusClient::connect(ctx, endpoint, "echo");
  if (!server ||
      !server->call("bus.register", {{"name", "echo"}, {"serves", {"bench.echo"}}}, 2000)) {
    std::abort();
  }
  auto requester = bus::connect_client(ctx, endpoint, {});
  if (!requester) std::abort();
  return pipelined(*requester, server->socket(), false, count, 64);
}

void row(const char* what, const char* baseline, const char* transport, const Result& raw,
         const Result& routed, bool latency) {
  std::printf("%-24s %-14s %-7s %10.0f %10.0f %6.2f", what, baseline, transport, raw.per_second,
              routed.per_second, routed.per_second / raw.per_second);
  if (latency) {
    std::printf("   p50 %6.0f /%6.0f us  p99 %6.0f /%6.0f us  p99 x%.2f", raw.p50_us, routed.p50_us,
                raw.p99_us, routed.p99_us, routed.p99_us / std::max(raw.p99_us, 1.0));
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t events = argc > 1 ? std::stoull(argv[1]) : 300000;
  const std::uint64_t requests = events / 3;
  const double load = argc > 2 ? std::stod(argv[2]) : 0.5;  // fraction of max for latency
  char dir_template[] = "/tmp/nauto-bench-XXXXXX";
  const std::string dir = ::mkdtemp(dir_template);
  std::printf(
      "router benchmark: %llu events of %d-byte bodies, %llu pipelined requests (64 in flight)\n",
      static_cast<unsigned long long>(events), kBodyBytes,
      static_cast<unsigned long long>(requests));
  std::printf("%-24s %-14s %-7s %10s %10s %6s   %s\n", "measure", "baseline", "via", "base/s",
              "router/s", "ratio", "latency base / router");
  for (const std::string transport : {"inproc", "ipc"}) {
    int n = 0;
    auto endpoint = [&] {
      ++n;
      return transport == "inproc" ? "inproc://bench-" + std::to_string(n)
                                   : "ipc://" + dir + "/bench-" + std::to_string(n) + ".sock";
    };
    const char* via = transport.c_str();
    zmq::context_t ctx;
    const auto direct_max = raw_events(ctx, endpoint(), events, 0);
    const auto broker_max = raw_broker_events(ctx, endpoint(), events, 0);
    const auto routed_max = router_events(ctx, endpoint(), events, 0);
    row("events, max rate", "direct", via, direct_max, routed_max, false);
    row("events, max rate", "raw broker", via, broker_max, routed_max, false);
    // Latency at a fraction (default half) of the router's maximum, offered to every path.
    const double rate = load * routed_max.per_second;
    const auto paced = static_cast<std::uint64_t>(std::min<double>(events, rate * 2.0));  // ~2 s
    const auto direct_paced = raw_events(ctx, endpoint(), paced, rate);
    const auto broker_paced = raw_broker_events(ctx, endpoint(), paced, rate);
    const auto routed_paced = router_events(ctx, endpoint(), paced, rate);
    char label[64];
    std::snprintf(label, sizeof label, "events @ %.0fk/s", rate / 1000);
    row(label, "direct", via, direct_paced, routed_paced, true);
    row(label, "raw broker", via, broker_paced, routed_paced, true);
    const auto raw_rr = raw_requests(ctx, endpoint(), requests);
    const auto broker_rr = raw_broker_requests(ctx, endpoint(), requests);
    const auto routed_rr = router_requests(ctx, endpoint(), requests);
    row("requests, 64 in flight", "direct", via, raw_rr, routed_rr, true);
    row("requests, 64 in flight", "raw broker", via, broker_rr, routed_rr, true);
    const auto audited_rr = router_requests(ctx, endpoint(), requests, 100000);
    row("requests, audited", "not audited", via, routed_rr, audited_rr, true);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
