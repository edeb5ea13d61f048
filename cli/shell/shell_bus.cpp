#include "shell_bus.h"

#include <algorithm>
#include <vector>

#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/bus/envelope.h"
#include "nauto/bus/socket.h"

namespace nauto::cli::shell {

using nlohmann::json;

namespace {
// The router answers a request at its deadline; this much later we stop waiting for it.
constexpr std::int64_t kGraceUs = 2'000'000;
}  // namespace

Result<std::unique_ptr<ShellBus>> ShellBus::connect(zmq::context_t& context,
                                                    const std::string& endpoint, std::string name) {
  auto socket = bus::connect_client(context, endpoint, {});
  if (!socket) return std::move(socket).error();
  return std::unique_ptr<ShellBus>(new ShellBus(std::move(*socket), std::move(name)));
}

void ShellBus::request(const std::string& service, const json& body, std::int64_t timeout_ms,
                       ReplyFn on_reply) {
  auto envelope = bus::make_request(service, name_, bus::to_body(body), timeout_ms);
  if (auto sent = bus::send_envelope(socket_, envelope); !sent) {
    on_reply(std::move(sent).error());
    return;
  }
  pending_[envelope.header.id] =
      Pending{service, steady_us() + timeout_ms * 1000 + kGraceUs, std::move(on_reply)};
}

void ShellBus::publish(const std::string& topic, const json& body) {
  (void)bus::send_envelope(socket_, bus::make_event(topic, name_, bus::to_body(body)));
}

std::uint64_t ShellBus::after(std::int64_t delay_ms, std::function<void()> fn) {
  const auto id = next_timer_++;
  timers_[id] = {steady_us() + delay_ms * 1000, std::move(fn)};
  return id;
}

void ShellBus::cancel_timer(std::uint64_t id) {
  timers_.erase(id);
}

std::uint64_t ShellBus::watch(int fd, std::function<void()> on_readable) {
  const auto id = next_timer_++;
  watches_[id] = {fd, std::move(on_readable)};
  return id;
}

void ShellBus::unwatch(std::uint64_t id) {
  watches_.erase(id);
}

void ShellBus::answer(const std::string& id, Result<json> result) {
  const auto it = pending_.find(id);
  if (it == pending_.end()) return;  // late or unknown: its caller was answered already
  auto on_reply = std::move(it->second.on_reply);
  pending_.erase(it);
  on_reply(std::move(result));
}

std::int64_t ShellBus::next_wake_us() const {
  std::int64_t wake = INT64_MAX;
  for (const auto& [id, timer] : timers_)
    wake = std::min(wake, timer.first);
  for (const auto& [id, pending] : pending_)
    wake = std::min(wake, pending.give_up_us);
  return wake;
}

void ShellBus::fire_due_timers() {
  const auto now = steady_us();
  std::vector<std::string> expired;
  for (const auto& [id, pending] : pending_) {
    if (pending.give_up_us <= now) expired.push_back(id);
  }
  for (const auto& id : expired) {
    const auto service = pending_[id].service;
    answer(id, fail(Errc::Timeout, "no answer from nautod; is it still running?", service));
  }
  std::vector<std::uint64_t> due;
  for (const auto& [id, timer] : timers_) {
    if (timer.first <= now) due.push_back(id);
  }
  for (const auto id : due) {
    const auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier timer's callback
    auto fn = std::move(it->second.second);
    timers_.erase(it);
    fn();
  }
}

void ShellBus::drive(std::int64_t timeout_ms) {
  const auto wake = next_wake_us();
  if (wake != INT64_MAX) {
    timeout_ms = std::clamp<std::int64_t>((wake - steady_us() + 999) / 1000, 0, timeout_ms);
  }
  std::vector<zmq::pollitem_t> items{{socket_.handle(), 0, ZMQ_POLLIN, 0}};
  std::vector<std::uint64_t> watch_ids;
  for (const auto& [id, w] : watches_) {
    items.push_back({nullptr, w.first, ZMQ_POLLIN, 0});
    watch_ids.push_back(id);
  }
  try {
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(timeout_ms));
  } catch (const zmq::error_t&) {
    return;  // EINTR (Ctrl-C): the caller looks at its interrupt flag
  }
  for (std::size_t i = 0; i < watch_ids.size(); ++i) {
    if (!(items[i + 1].revents & ZMQ_POLLIN)) continue;
    const auto it = watches_.find(watch_ids[i]);
    if (it == watches_.end()) continue;  // unwatched by an earlier callback
    auto fn = it->second.second;         // a copy: the callback may unwatch
    fn();
  }
  if (items[0].revents & ZMQ_POLLIN) {
    for (int i = 0; i < 256; ++i) {
      auto received = bus::receive_envelope(socket_, true);
      if (!received) continue;  // malformed: consumed, nothing to answer
      if (!*received) break;    // nothing more waiting
      auto& envelope = **received;
      if (envelope.header.kind == bus::Kind::Event) continue;
      const auto id = envelope.header.correlation_id;
      if (envelope.header.kind == bus::Kind::Error) {
        answer(id, bus::error_from_body(envelope.body));
      } else {
        answer(id, bus::from_body(envelope.body));
      }
    }
  }
  fire_due_timers();
}

Result<json> ShellBus::call(const std::string& service, const json& body, std::int64_t timeout_ms) {
  std::optional<Result<json>> answer_of_call;
  request(service, body, timeout_ms, [&](Result<json> r) { answer_of_call = std::move(r); });
  while (!answer_of_call)
    drive(100);
  return std::move(*answer_of_call);
}

}  // namespace nauto::cli::shell
