#pragma once
// Kernel: the running parts of nautod put together in order — store, router, module host —
// and taken down in reverse. nautod's main and the in-process tests both use it.
// Thread-bound to the thread that started it.

#include <memory>
#include <string>
#include <zmq.hpp>

#include "config/config.h"
#include "host/module_host.h"
#include "nauto/store/store.h"
#include "router/router.h"

namespace nauto::kernel {

/// Who asked for a reload: the sender of SIGHUP (sigwaitinfo), -1 when unknown.
struct ReloadSender {
  std::int64_t uid = -1;
  std::int64_t pid = -1;
};

class Kernel {
 public:
  /// Creates data_dir and run_dir, opens the store, binds the router (inproc + ipc, tcp when
  /// configured) and starts the modules. `executable` is the nautod binary for child modules.
  static Result<std::unique_ptr<Kernel>> start(const KernelConfig& config,
                                               const std::string& executable);
  ~Kernel();

  /// Applies a new configuration: log settings, modules and `auth:` (users and roles). Store
  /// and router settings need a restart; a change there is reported as a warning, not applied.
  /// The reload is recorded for the audit module with what it changed in `auth:`.
  Result<void> reload(const KernelConfig& config, ReloadSender by = {});
  /// Records a reload that was rejected (the file could not be read or was invalid).
  void reload_rejected(const std::string& source, const Error& why, ReloadSender by);
  /// Graceful stop: modules, then router, then store. Idempotent.
  void stop();

  const std::string& ipc_endpoint() const { return ipc_endpoint_; }
  std::shared_ptr<zmq::context_t> context() const { return context_; }
  store::Store& store() { return *store_; }

 private:
  Kernel() = default;
  KernelConfig config_;
  std::string ipc_endpoint_;
  std::shared_ptr<zmq::context_t> context_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<ModuleHost> host_;
};

/// Store schema version of this build.
inline constexpr std::uint32_t kStoreSchemaVersion = 1;

}  // namespace nauto::kernel
