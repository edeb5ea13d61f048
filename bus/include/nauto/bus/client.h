#pragma once
// BusClient: a blocking client of the kernel router for tools — the nauto CLI, tests and
// benchmarks. Modules do not use it; they get an asynchronous Context from their host.
// Thread-bound: one thread creates, uses and destroys it.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "nauto/bus/socket.h"

namespace nauto::bus {

class BusClient {
 public:
  /// Connects to `endpoint` as `name` (the source of what it sends). `context` outlives it.
  static Result<BusClient> connect(zmq::context_t& context, const std::string& endpoint,
                                   std::string name, ClientOptions options = {});

  /// Sends a request and waits for its reply body, or the error the reply carries.
  Result<nlohmann::json> call(const std::string& service, const nlohmann::json& body,
                              std::int64_t timeout_ms);
  /// Publishes an event; returns its id.
  Result<std::string> publish(const std::string& topic, const nlohmann::json& body);
  /// Registers this client as a subscriber of `patterns` (bus.register).
  Result<void> subscribe(const std::vector<std::string>& patterns, std::int64_t timeout_ms);
  /// Leaves the router's tables (bus.unregister); best effort.
  void unsubscribe();
  /// Waits up to `timeout_ms` for the next event; std::nullopt on timeout.
  Result<std::optional<Envelope>> next_event(std::int64_t timeout_ms);

  zmq::socket_t& socket() { return socket_; }

 private:
  BusClient(zmq::socket_t socket, std::string name)
      : socket_(std::move(socket)), name_(std::move(name)) {}
  zmq::socket_t socket_;
  std::string name_;
  std::vector<Envelope> early_events_;  // events that arrived while waiting for a reply
};

}  // namespace nauto::bus
