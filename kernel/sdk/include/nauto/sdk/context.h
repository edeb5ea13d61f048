#pragma once
// Context: everything a module may touch. Thread-bound to the module's thread.

#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::store {
class Store;
}

namespace nauto {

class Context {
 public:
  using ReplyFn = std::function<void(Result<std::string> body)>;
  using TimerFn = std::function<void()>;
  using TimerId = std::uint64_t;

  virtual ~Context() = default;
  /// The module's registered name.
  virtual const std::string& name() const = 0;
  /// The module's validated configuration subtree.
  virtual const nlohmann::json& config() const = 0;
  /// Publishes an event. Errc::Overloaded if the module's own send queue is full.
  virtual Result<void> publish(std::string topic, std::string body) = 0;
  /// Sends a request; `on_reply` runs on this thread with the reply body or the error
  /// (Errc::Timeout after `timeout_ms`, Errc::Unavailable if nobody serves it, ...).
  virtual void request(std::string service, std::string body, std::int64_t timeout_ms,
                       ReplyFn on_reply) = 0;
  /// The same, for a user whose request started the work (a runbook's run, a config push):
  /// `scope` is that request's bus::Header::scope, the devices the user may act on, and goes
  /// with this request so the module serving it limits the devices as it would for the user.
  /// The router can only narrow a scope: a caller's own limit always applies as well.
  virtual void request_for(std::string scope, std::string service, std::string body,
                           std::int64_t timeout_ms, ReplyFn on_reply) = 0;
  /// The same, for a user this module verified itself (the API module for a token's holder):
  /// the router checks the service against `roles` as it would for `principal`, stamps the
  /// request with that principal and records it as coming through this module, so the user can
  /// do through the module no more than the user's roles allow.
  virtual void request_as(std::string principal, const std::vector<std::string>& roles,
                          std::string service, std::string body, std::int64_t timeout_ms,
                          ReplyFn on_reply) = 0;
  /// Runs `fn` every `period` on this thread, first after one period.
  virtual TimerId every(std::chrono::milliseconds period, TimerFn fn) = 0;
  /// Runs `fn` once after `delay`.
  virtual TimerId after(std::chrono::milliseconds delay, TimerFn fn) = 0;
  virtual void cancel(TimerId id) = 0;
  /// Runs `on_readable` on this thread whenever `fd` (a socket or pipe the module owns) is
  /// readable, so a module that listens on the network (syslog, traps) needs no thread of its
  /// own. The module closes `fd` only after unwatch(); at most 16 watches per module.
  /// Errc::ResourceExhausted past the limit.
  virtual Result<TimerId> watch(int fd, TimerFn on_readable) = 0;
  virtual void unwatch(TimerId id) = 0;
  /// Logger named "mod.<name>".
  virtual spdlog::logger& log() = 0;
  /// The kernel's store for modules hosted in-process; nullptr out of process.
  /// Outlives the module.
  virtual store::Store* store() = 0;
  /// True in a kernel `nauto` started for one command or a shell session (nautod --passive),
  /// which shares the daemon's configuration and store: a module serves requests there but
  /// starts nothing on its own (the scheduler fires no schedule), so the work is not done twice
  /// or behind the user's back.
  virtual bool passive() const { return false; }
};

}  // namespace nauto
