#pragma once
// ModuleRunner: the actor loop that hosts one Module instance. It connects a DEALER socket to
// the router, registers the module's subscriptions and services, calls start(), then dispatches
// events, requests, replies and timers until asked to stop, publishing a heartbeat event
// ("kernel.heartbeat") every interval. The same runner hosts a module in-process (inproc://) or
// in a child process (ipc:// or tcp://).
// Exceptions thrown by module code are caught here and end the run with an Errc::Bug error, so
// the supervisor can restart the module while everything else keeps running.
// Thread-bound: run() executes on the calling thread; only RunnerControl is shared.

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <zmq.hpp>

#include "nauto/base/doorbell.h"
#include "nauto/base/result.h"
#include "nauto/bus/socket.h"
#include "nauto/sdk/module.h"

namespace nauto::store {
class Store;
}

namespace nauto::kernel {

/// Flags shared between a runner and its supervisor. Thread-safe. Set them through
/// request_stop() and abandon(), which also wake the runner: its loop sleeps until something is
/// due, without a timeout when nothing is.
struct RunnerControl {
  std::atomic<bool> stop_requested{false};
  /// Set by the supervisor when it gave up on a hung runner: the runner leaves without
  /// touching the bus again (a new instance owns the module's identity by then).
  std::atomic<bool> abandoned{false};
  Doorbell wake;  ///< rung with each change to the flags above

  void request_stop() noexcept {
    stop_requested = true;
    wake.ring();
  }
  void abandon() noexcept {
    abandoned = true;
    wake.ring();
  }
};

struct RunnerOptions {
  std::string endpoint;       ///< router endpoint to connect to
  bus::ClientOptions client;  ///< socket options (routing id is set to the name)
  std::int64_t heartbeat_interval_ms = 500;
  std::int64_t register_timeout_ms = 5000;
  nlohmann::json config;          ///< the module's validated config
  store::Store* store = nullptr;  ///< outlives the runner; nullptr out of process
  bool passive = false;           ///< Context::passive
};

/// Topic of the heartbeat event every runner publishes.
inline constexpr const char* kHeartbeatTopic = "kernel.heartbeat";
/// Topic of the event a runner publishes when its module fails: {module, pid, error}.
inline constexpr const char* kModuleErrorTopic = "kernel.module.error";

class ModuleRunner {
 public:
  /// `context` outlives the runner.
  ModuleRunner(zmq::context_t& context, ModulePtr module, RunnerOptions options,
               std::shared_ptr<RunnerControl> control);
  ~ModuleRunner();

  /// Runs until stop is requested (success) or the module fails (the error says why).
  Result<void> run();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nauto::kernel
