#include "nauto/bus/client.h"

#include "nauto/base/clock.h"
#include "nauto/bus/body.h"

namespace nauto::bus {

Result<BusClient> BusClient::connect(zmq::context_t& context, const std::string& endpoint,
                                     std::string name, ClientOptions options) {
  auto socket = connect_client(context, endpoint, options);
  if (!socket) return std::move(socket).error();
  return BusClient(std::move(*socket), std::move(name));
}

Result<nlohmann::json> BusClient::call(const std::string& service, const nlohmann::json& body,
                                       std::int64_t timeout_ms) {
  auto request = make_request(service, name_, to_body(body), timeout_ms);
  if (auto sent = send_envelope(socket_, request); !sent) return std::move(sent).error();
  // The router answers at the deadline; wait a little longer so its error is what we report.
  const auto give_up = steady_us() + (timeout_ms + 1000) * 1000;
  while (steady_us() < give_up) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(50));
    } catch (const zmq::error_t& e) {
      return fail(Errc::Library, e.what(), service);
    }
    if (!(item.revents & ZMQ_POLLIN)) continue;
    auto received = receive_envelope(socket_, true);
    if (!received) return std::move(received).error();
    if (!*received) continue;
    auto& envelope = **received;
    if (envelope.header.kind == Kind::Event) {
      early_events_.push_back(std::move(envelope));
      continue;
    }
    if (envelope.header.correlation_id != request.header.id) continue;  // a stale reply
    if (envelope.header.kind == Kind::Error) return error_from_body(envelope.body);
    return from_body(envelope.body);
  }
  return fail(Errc::Timeout,
              "no answer from nautod within " + std::to_string(timeout_ms) +
                  "ms; is nautod running and is the endpoint right?",
              service);
}

Result<std::string> BusClient::publish(const std::string& topic, const nlohmann::json& body) {
  auto event = make_event(topic, name_, to_body(body));
  if (auto sent = send_envelope(socket_, event); !sent) return std::move(sent).error();
  return event.header.id;
}

Result<void> BusClient::subscribe(const std::vector<std::string>& patterns,
                                  std::int64_t timeout_ms) {
  auto registered = call("bus.register", {{"name", name_}, {"subscribes", patterns}}, timeout_ms);
  if (!registered) return std::move(registered).error();
  return ok();
}

void BusClient::unsubscribe() {
  (void)send_envelope(socket_, make_request("bus.unregister", name_, to_body({}), 1000), true);
}

Result<std::optional<Envelope>> BusClient::next_event(std::int64_t timeout_ms) {
  if (!early_events_.empty()) {
    auto e = std::move(early_events_.front());
    early_events_.erase(early_events_.begin());
    return std::optional<Envelope>(std::move(e));
  }
  const auto give_up = steady_us() + timeout_ms * 1000;
  for (;;) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    const auto left_ms = std::max<std::int64_t>((give_up - steady_us() + 999) / 1000, 0);
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(left_ms));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) return std::optional<Envelope>();
      return fail(Errc::Library, e.what(), "next_event");
    }
    if (!(item.revents & ZMQ_POLLIN)) return std::optional<Envelope>();
    auto received = receive_envelope(socket_, true);
    if (!received) return std::move(received).error();
    if (*received && (*received)->header.kind == Kind::Event) return received;
    if (steady_us() >= give_up) return std::optional<Envelope>();
  }
}

}  // namespace nauto::bus
