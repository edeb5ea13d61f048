#pragma once
// ModuleHost: starts the configured modules and keeps them running.
//   - In-process modules run on their own thread ("mod/<name>") over inproc://.
//   - Out-of-process modules run as `nautod --run-module <name>` children over ipc://, with the
//     same ModuleRunner and protocol.
//   - Supervision: a module that throws, fails to start, exits, or stops sending heartbeats is
//     restarted with exponential backoff (reset once it has run stably), while the kernel and
//     the other modules keep running. Every failure and restart is an event on the bus
//     (kernel.module.failed, kernel.module.restarted, kernel.module.started).
//   - The host answers kernel.status and kernel.modules.
// A hung in-process module cannot be killed: its thread is abandoned (it leaves the bus as soon
// as it returns) and a fresh instance takes over its identity. Prefer process isolation for
// modules that may block.
// Threading: supervision runs on the "host" thread; the public members are for the owner
// thread (nautod's main), except reconfigure(), which may be called from any thread.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "nauto/base/result.h"
#include "nauto/base/scheduling.h"

namespace nauto::store {
class Store;
}

namespace nauto::kernel {

/// One module to run, from the `modules:` section of nauto.yaml.
struct ModuleSpec {
  std::string name;
  nlohmann::json config = nlohmann::json::object();  ///< the module's own keys
  bool out_of_process = false;                       ///< `isolation: process`
  Scheduling scheduling = Scheduling::Normal;        ///< `scheduling: batch`
  bool operator==(const ModuleSpec&) const = default;
};

struct SupervisorOptions {
  std::int64_t heartbeat_interval_ms = 500;
  std::int64_t heartbeat_timeout_ms = 5000;  ///< silence longer than this means hung
  std::int64_t backoff_initial_ms = 200;
  std::int64_t backoff_max_ms = 30000;
  std::int64_t stable_after_ms = 60000;  ///< running this long resets the backoff
  std::int64_t stop_timeout_ms = 3000;   ///< grace before a stopping child is killed
};

struct HostOptions {
  SupervisorOptions supervisor;
  std::string inproc_endpoint;               ///< router endpoint for in-process modules
  std::string process_endpoint;              ///< router endpoint for child processes (ipc://)
  std::string executable;                    ///< the nautod binary, for child processes
  std::vector<std::string> child_arguments;  ///< extra arguments for children (log options)
  store::Store* store = nullptr;             ///< outlives the host
  bool passive = false;                      ///< KernelConfig::passive, for every module
};

/// Checks every spec: the module is linked in and accepts its config. Pure.
Result<void> validate_module_specs(const std::vector<ModuleSpec>& specs);

class KernelModule;

class ModuleHost {
 public:
  /// Validates the specs; `context` is shared with module threads (a hung one may outlive us).
  static Result<std::unique_ptr<ModuleHost>> create(std::shared_ptr<zmq::context_t> context,
                                                    HostOptions options,
                                                    std::vector<ModuleSpec> specs);
  ~ModuleHost();

  /// Starts the host thread and waits until it is on the bus; modules start from there.
  Result<void> start();
  /// Stops every module (last started first), then the host thread. Idempotent.
  void stop();
  /// Validates `specs` and hands them to the host thread, which stops removed modules, restarts
  /// changed ones and starts new ones. Nothing is applied if any spec is invalid.
  Result<void> reconfigure(std::vector<ModuleSpec> specs);
  /// Abandoned (hung) module threads that have not returned yet.
  int abandoned_threads() const;

  struct State;  ///< shared by the owner and the host thread; defined in the .cpp

 private:
  ModuleHost() = default;
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace nauto::kernel
