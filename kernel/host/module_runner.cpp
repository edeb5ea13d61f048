#include "module_runner.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>

#include "nauto/base/clock.h"
#include "nauto/base/log.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema.h"
#include "nauto/bus/schema_types.h"
#include "nauto/store/store.h"

namespace nauto::kernel {

namespace {
// 64 random bits in hex, from the kernel's generator.
std::string random_suffix() {
  std::random_device device;
  const std::uint64_t bits = (std::uint64_t{device()} << 32) | device();
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(bits));
  return text;
}
}  // namespace

using nlohmann::json;

class ModuleRunner::Impl final : public Context {
 public:
  Impl(zmq::context_t& context, ModulePtr module, RunnerOptions options,
       std::shared_ptr<RunnerControl> control)
      : zmq_context_(context),
        module_(std::move(module)),
        options_(std::move(options)),
        control_(std::move(control)),
        manifest_(module_->manifest()),
        log_(logger("mod." + manifest_.name)) {}

  Result<void> run() {
    // A new, unguessable routing id for each start: the router hands no id in use over to
    // another connection, so a restart must not reuse the old one, and nobody may take a
    // module's id before it connects.
    options_.client.routing_id = manifest_.name + "#" + random_suffix();
    auto socket = bus::connect_client(zmq_context_, options_.endpoint, options_.client);
    if (!socket) return std::move(socket).error();
    socket_ = std::move(*socket);
    if (auto registered = register_with_router(); !registered) return registered;

    Result<void> outcome = guarded("start", [&] { return module_->start(*this); });
    const bool started = outcome.has_value();
    if (started) outcome = loop();
    if (control_->abandoned) return outcome;
    if (!outcome) report_failure(outcome.error());
    if (started) {
      (void)guarded("stop", [&] {
        module_->stop(*this);
        return ok();
      });
    }
    unregister();
    return outcome;
  }

  // --- Context ---
  const std::string& name() const override { return manifest_.name; }
  const json& config() const override { return options_.config; }
  bool passive() const override { return options_.passive; }
  spdlog::logger& log() override { return *log_; }
  store::Store* store() override { return options_.store; }

  Result<void> publish(std::string topic, std::string body) override {
#ifdef NAUTO_CHECK_PUBLISHED_EVENTS
    // The sanitizer build (which runs every test) holds each published event to its declared
    // fields, so bus/schema/ and the code that publishes cannot drift apart unnoticed.
    if (const auto* declared = bus::schema::find_event(topic)) {
      auto decoded = bus::from_body(body);
      auto checked =
          decoded ? bus::schema::check(*declared, *decoded) : Result<void>(decoded.error());
      if (!checked) {
        log_->critical("published {} unlike its schema: {}", topic, checked.error().message);
        std::abort();
      }
    }
#endif
    return send(bus::make_event(std::move(topic), manifest_.name, std::move(body)));
  }

  void request(std::string service, std::string body, std::int64_t timeout_ms,
               ReplyFn on_reply) override {
    request_for("", std::move(service), std::move(body), timeout_ms, std::move(on_reply));
  }

  void request_for(std::string scope, std::string service, std::string body,
                   std::int64_t timeout_ms, ReplyFn on_reply) override {
    auto envelope =
        bus::make_request(std::move(service), manifest_.name, std::move(body), timeout_ms);
    envelope.header.scope = std::move(scope);
    send_request(std::move(envelope), timeout_ms, std::move(on_reply));
  }

  void request_as(std::string principal, const std::vector<std::string>& roles, std::string service,
                  std::string body, std::int64_t timeout_ms, ReplyFn on_reply) override {
    auto envelope =
        bus::make_request(std::move(service), manifest_.name, std::move(body), timeout_ms);
    envelope.header.acting_for = std::move(principal);
    for (const auto& role : roles)
      envelope.header.roles += (envelope.header.roles.empty() ? "" : ",") + role;
    send_request(std::move(envelope), timeout_ms, std::move(on_reply));
  }

  void send_request(bus::Envelope envelope, std::int64_t timeout_ms, ReplyFn on_reply) {
    // The router answers at the deadline; keep a local guard in case the router is gone.
    const auto local_deadline =
        steady_us() + (timeout_ms > 0 ? timeout_ms : 30000) * 1000 + 2000000;
    auto sent = send(envelope);
    if (!sent) {
      on_reply(std::move(sent).error());
      return;
    }
    const auto by_deadline = pending_deadlines_.emplace(local_deadline, envelope.header.id);
    pending_[envelope.header.id] = PendingReply{std::move(on_reply), by_deadline};
  }

  TimerId every(std::chrono::milliseconds period, TimerFn fn) override {
    return add_timer(period.count(), period.count(), std::move(fn));
  }
  TimerId after(std::chrono::milliseconds delay, TimerFn fn) override {
    return add_timer(delay.count(), 0, std::move(fn));
  }
  void cancel(TimerId id) override {
    timers_.erase(id);
  }

  Result<TimerId> watch(int fd, TimerFn on_readable) override {
    if (watches_.size() >= kMaxWatches) {
      return fail(Errc::ResourceExhausted, "a module may watch at most 16 descriptors",
                  manifest_.name);
    }
    const auto id = ++last_timer_id_;
    watches_[id] = Watch{fd, std::move(on_readable)};
    return id;
  }
  void unwatch(TimerId id) override {
    watches_.erase(id);
  }

 private:
  struct Timer {
    std::int64_t due_us;
    std::int64_t period_ms;
    TimerFn fn;
  };
  struct Watch {
    int fd;
    TimerFn fn;
  };
  static constexpr std::size_t kMaxWatches = 16;
  static constexpr std::size_t kFirstWatchItem = 2;  // after the socket and control_->wake
  // Requests in flight by local deadline (earliest first), so the loop knows how long it may
  // sleep and expires them without walking every request.
  using PendingDeadlines = std::multimap<std::int64_t, std::string>;
  struct PendingReply {
    ReplyFn fn;
    PendingDeadlines::iterator by_deadline;
  };

  template <typename F>
  auto guarded(const char* phase, F&& body) -> decltype(body()) {
    try {
      return body();
    } catch (const std::exception& e) {
      return fail(Errc::Bug, std::string("threw in ") + phase + ": " + e.what(), manifest_.name);
    } catch (...) {
      return fail(Errc::Bug, std::string("threw a non-standard exception in ") + phase,
                  manifest_.name);
    }
  }

  Result<void> send(const bus::Envelope& envelope) {
    if (control_->abandoned) return fail(Errc::Cancelled, "module instance was replaced");
    return bus::send_envelope(socket_, envelope, true);
  }

  TimerId add_timer(std::int64_t delay_ms, std::int64_t period_ms, TimerFn fn) {
    const auto id = ++last_timer_id_;
    timers_[id] = Timer{steady_us() + delay_ms * 1000, period_ms, std::move(fn)};
    return id;
  }

  Result<void> register_with_router() {
    json body = {{"name", manifest_.name},
                 {"subscribes", manifest_.subscribes},
                 {"serves", manifest_.serves}};
    auto excluded = guarded("excluded_topics", [&]() -> Result<std::vector<std::string>> {
      return module_->excluded_topics(options_.config);
    });
    if (!excluded) return std::move(excluded).error();
    if (!excluded->empty()) body["excludes"] = *excluded;
    // Heartbeats are how the supervisor sees us; the kernel module subscribes to them itself.
    auto request = bus::make_request(bus::schema::BusRegisterRequest::kTopic, manifest_.name,
                                     bus::to_body(body), options_.register_timeout_ms);
    if (auto sent = bus::send_envelope(socket_, request); !sent) return sent;
    const auto give_up = steady_us() + options_.register_timeout_ms * 1000;
    while (steady_us() < give_up && !control_->stop_requested) {
      zmq::pollitem_t items[2] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                                  {nullptr, control_->wake.fd(), ZMQ_POLLIN, 0}};
      try {
        zmq::poll(items, 2,
                  std::chrono::milliseconds(
                      std::max<std::int64_t>((give_up - steady_us() + 999) / 1000, 0)));
      } catch (const zmq::error_t& e) {
        return fail(Errc::Library, e.what(), "register");
      }
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      auto reply = bus::receive_envelope(socket_, true);
      if (!reply) return std::move(reply).error();
      if (!*reply || (*reply)->header.correlation_id != request.header.id) continue;
      if ((*reply)->header.kind == bus::Kind::Error) {
        auto error = bus::error_from_body((*reply)->body);
        error.where = "register " + manifest_.name;
        return error;
      }
      return ok();
    }
    return fail(Errc::Timeout, "the router did not answer the registration", options_.endpoint);
  }

  // Tells the supervisor why this run ends: from a child process it would otherwise see only
  // an exit status.
  void report_failure(const Error& error) {
    json body = {{"module", manifest_.name},
                 {"pid", static_cast<std::int64_t>(::getpid())},
                 {"error", error.describe()}};
    (void)publish(kModuleErrorTopic, bus::to_body(body));
  }

  void unregister() {
    auto request = bus::make_request(bus::schema::BusUnregisterRequest::kTopic, manifest_.name,
                                     bus::to_body(json::object()), 1000);
    (void)bus::send_envelope(socket_, request, true);
  }

  Result<void> loop() {
    auto next_heartbeat = steady_us();
    while (!control_->stop_requested && !control_->abandoned) {
      auto now = steady_us();
      if (now >= next_heartbeat) {
        heartbeat();
        next_heartbeat = now + options_.heartbeat_interval_ms * 1000;
      }
      // Asleep until a message, a watched descriptor, the next timer, heartbeat or request
      // deadline, or the supervisor's stop (control_->wake): never on a fixed period.
      std::int64_t wait_us = next_heartbeat - now;
      for (const auto& [id, timer] : timers_)
        wait_us = std::min(wait_us, timer.due_us - now);
      if (!pending_deadlines_.empty())
        wait_us = std::min(wait_us, pending_deadlines_.begin()->first - now);
      zmq::pollitem_t items[kFirstWatchItem + kMaxWatches];
      items[0] = zmq::pollitem_t{socket_.handle(), 0, ZMQ_POLLIN, 0};
      items[1] = zmq::pollitem_t{nullptr, control_->wake.fd(), ZMQ_POLLIN, 0};
      std::size_t count = kFirstWatchItem;
      TimerId watched[kMaxWatches];
      for (const auto& [id, watch] : watches_) {
        watched[count - kFirstWatchItem] = id;
        items[count++] = zmq::pollitem_t{nullptr, watch.fd, ZMQ_POLLIN, 0};
      }
      try {
        // Rounded up: a timer due in under a millisecond made this a poll(0) spin until it was
        // due (1,150 wake-ups a second in an idle nautod's host thread).
        zmq::poll(items, count,
                  std::chrono::milliseconds(std::max<std::int64_t>((wait_us + 999) / 1000, 0)));
      } catch (const zmq::error_t& e) {
        if (e.num() == ETERM) return ok();
        return fail(Errc::Library, e.what(), manifest_.name);
      }
      for (std::size_t i = kFirstWatchItem; i < count; ++i) {
        if (!(items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR))) continue;
        auto it = watches_.find(watched[i - kFirstWatchItem]);
        if (it == watches_.end()) continue;  // unwatched by an earlier callback
        TimerFn fn = it->second.fn;
        if (auto handled = guarded("a descriptor callback",
                                   [&] {
                                     fn();
                                     return ok();
                                   });
            !handled) {
          return handled;
        }
      }
      const auto& item = items[0];
      for (int i = 0; i < 256 && (item.revents & ZMQ_POLLIN); ++i) {
        auto received = bus::receive_envelope(socket_, true);
        if (!received) {
          log_->warn("dropped a malformed message: {}", received.error().message);
          continue;
        }
        if (!*received) break;
        if (auto handled = dispatch(std::move(**received)); !handled) return handled;
        if (control_->stop_requested || control_->abandoned) break;
      }
      if (auto fired = run_timers(); !fired) return fired;
      expire_pending();
    }
    return ok();
  }

  Result<void> dispatch(bus::Envelope envelope) {
    switch (envelope.header.kind) {
      case bus::Kind::Event:
        ++processed_events_;
        return guarded("on_event", [&] {
          module_->on_event(envelope, *this);
          return ok();
        });
      case bus::Kind::Request: {
        ++processed_requests_;
        Reply reply(envelope, manifest_.name, [this](bus::Envelope answer) {
          if (auto sent = send(answer); !sent) {
            log_->warn("could not send the reply to '{}': {}", answer.topic, sent.error().message);
          }
        });
        // The body is checked against the service's declared fields (bus/schema/) before the
        // module sees it: a wrong body is the caller's error, never the module's failure.
        if (auto checked = check_request(envelope); !checked) {
          reply.fail(checked.error());
          return ok();
        }
        return guarded("on_request", [&] {
          module_->on_request(envelope, *this, std::move(reply));
          return ok();
        });
      }
      case bus::Kind::Reply:
      case bus::Kind::Error: {
        auto it = pending_.find(envelope.header.correlation_id);
        if (it == pending_.end()) return ok();  // answered already (local timeout)
        auto fn = std::move(it->second.fn);
        pending_deadlines_.erase(it->second.by_deadline);
        pending_.erase(it);
        Result<std::string> body = envelope.header.kind == bus::Kind::Reply
                                       ? Result<std::string>(std::move(envelope.body))
                                       : Result<std::string>(bus::error_from_body(envelope.body));
        return guarded("a reply callback", [&] {
          fn(std::move(body));
          return ok();
        });
      }
    }
    return ok();
  }

  static Result<void> check_request(const bus::Envelope& request) {
    const auto* declared = bus::schema::find_request(request.topic);
    if (declared == nullptr) return ok();  // the schema test keeps every served service declared
    auto body = bus::from_body(request.body);
    if (!body) return std::move(body).error();
    return bus::schema::check(*declared, *body);
  }

  Result<void> run_timers() {
    const auto now = steady_us();
    std::vector<TimerId> due;
    for (const auto& [id, timer] : timers_) {
      if (timer.due_us <= now) due.push_back(id);
    }
    for (const auto id : due) {
      auto it = timers_.find(id);
      if (it == timers_.end()) continue;  // cancelled by an earlier timer
      TimerFn fn = it->second.fn;
      if (it->second.period_ms > 0) {
        it->second.due_us = now + it->second.period_ms * 1000;
      } else {
        timers_.erase(it);
      }
      if (auto fired = guarded("a timer",
                               [&] {
                                 fn();
                                 return ok();
                               });
          !fired) {
        return fired;
      }
    }
    return ok();
  }

  void expire_pending() {
    const auto now = steady_us();
    while (!pending_deadlines_.empty() && pending_deadlines_.begin()->first <= now) {
      const auto due = pending_deadlines_.begin();
      auto it = pending_.find(due->second);
      pending_deadlines_.erase(due);
      if (it == pending_.end()) continue;  // unreachable: a reply erases both
      auto fn = std::move(it->second.fn);
      pending_.erase(it);
      (void)guarded("a reply callback", [&] {
        fn(fail(Errc::Timeout, "no reply from the router", manifest_.name));
        return ok();
      });
    }
  }

  void heartbeat() {
    json body = {{"module", manifest_.name},
                 {"pid", static_cast<std::int64_t>(::getpid())},
                 {"processed_events", processed_events_},
                 {"processed_requests", processed_requests_},
                 {"pending_requests", pending_.size()}};
    (void)publish(kHeartbeatTopic, bus::to_body(body));
  }

  zmq::context_t& zmq_context_;
  ModulePtr module_;
  RunnerOptions options_;
  std::shared_ptr<RunnerControl> control_;
  Manifest manifest_;
  std::shared_ptr<spdlog::logger> log_;
  zmq::socket_t socket_;
  std::uint64_t processed_events_ = 0;
  std::uint64_t processed_requests_ = 0;
  TimerId last_timer_id_ = 0;
  std::map<TimerId, Timer> timers_;
  std::map<TimerId, Watch> watches_;
  std::map<std::string, PendingReply> pending_;
  PendingDeadlines pending_deadlines_;  // one entry per pending_ entry
};

ModuleRunner::ModuleRunner(zmq::context_t& context, ModulePtr module, RunnerOptions options,
                           std::shared_ptr<RunnerControl> control)
    : impl_(std::make_unique<Impl>(context, std::move(module), std::move(options),
                                   std::move(control))) {}

ModuleRunner::~ModuleRunner() = default;

Result<void> ModuleRunner::run() {
  return impl_->run();
}

}  // namespace nauto::kernel
