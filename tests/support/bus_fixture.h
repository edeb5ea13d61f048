#pragma once
// A router on a private zmq context, plus helpers for tests that act as bus peers.

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/bus/client.h"
#include "router/router.h"
#include "support/eventually.h"

namespace nauto::test {

struct BusFixture {
  std::shared_ptr<zmq::context_t> context = std::make_shared<zmq::context_t>();
  std::unique_ptr<kernel::Router> router;
  std::string endpoint = bus::endpoints::kRouterInproc;

  explicit BusFixture(kernel::RouterOptions options = {}) {
    if (options.endpoints.empty()) options.endpoints = {endpoint};
    auto created = kernel::Router::create(*context, std::move(options));
    if (!created) throw std::runtime_error(created.error().describe());
    router = std::move(*created);
    router->start();
  }
  ~BusFixture() { router.reset(); }

  bus::BusClient client(const std::string& name, bus::ClientOptions options = {}) {
    auto c = bus::BusClient::connect(*context, endpoint, name, options);
    if (!c) throw std::runtime_error(c.error().describe());
    return std::move(*c);
  }

  nlohmann::json stats() {
    auto c = client("stats-reader");
    auto s = c.call("bus.stats", nlohmann::json::object(), 2000);
    if (!s) throw std::runtime_error(s.error().describe());
    return *s;
  }
};

/// The stats entry of the peer called `name`, or null.
inline nlohmann::json peer(const nlohmann::json& stats, const std::string& name) {
  for (const auto& p : stats["peers"]) {
    if (p["name"] == name) return p;
  }
  return nullptr;
}

}  // namespace nauto::test
