#pragma once
// ShellBus: the shell's asynchronous line to nautod — the runbook engine's BusPort over one
// DEALER socket, so a shell session performs device calls, lookups and waits the way a run in
// nautod does, many at once (parallel fan-out), driven by the shell's own thread.
// Invariant: every request gets exactly one answer — the reply, the router's error, or a local
// timeout 2 s after its deadline when nautod has gone away.
// Thread-bound: created, driven (drive/call) and destroyed by one thread.

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <zmq.hpp>

#include "nauto/base/result.h"
#include "nauto/runbook/run_engine.h"

namespace nauto::cli::shell {

class ShellBus : public runbook::BusPort {
 public:
  /// Connects to nautod's router at `endpoint` as `name`.
  static Result<std::unique_ptr<ShellBus>> connect(zmq::context_t& context,
                                                   const std::string& endpoint, std::string name);

  void request(const std::string& service, const nlohmann::json& body, std::int64_t timeout_ms,
               ReplyFn on_reply) override;
  void publish(const std::string& topic, const nlohmann::json& body) override;
  std::uint64_t after(std::int64_t delay_ms, std::function<void()> fn) override;
  void cancel_timer(std::uint64_t id) override;
  std::uint64_t watch(int fd, std::function<void()> on_readable) override;
  void unwatch(std::uint64_t id) override;

  /// Waits up to `timeout_ms` for replies and timers and runs their callbacks.
  void drive(std::int64_t timeout_ms);
  /// One request, waited for (driving everything else meanwhile).
  Result<nlohmann::json> call(const std::string& service, const nlohmann::json& body,
                              std::int64_t timeout_ms);
  /// Nothing in flight: watches do not count (they wait on work that something else started).
  bool idle() const { return pending_.empty() && timers_.empty(); }

 private:
  ShellBus(zmq::socket_t socket, std::string name)
      : socket_(std::move(socket)), name_(std::move(name)) {}
  void answer(const std::string& id, Result<nlohmann::json> result);
  void fire_due_timers();
  std::int64_t next_wake_us() const;

  struct Pending {
    std::string service;
    std::int64_t give_up_us = 0;
    ReplyFn on_reply;
  };
  zmq::socket_t socket_;
  std::string name_;
  std::map<std::string, Pending> pending_;  // by request id
  std::map<std::uint64_t, std::pair<std::int64_t, std::function<void()>>> timers_;
  std::map<std::uint64_t, std::pair<int, std::function<void()>>> watches_;
  std::uint64_t next_timer_ = 1;
};

}  // namespace nauto::cli::shell
