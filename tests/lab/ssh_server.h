#pragma once
// SshServer: serves every device's SSH port from a few event-loop threads (libssh server API,
// non-blocking). Each device has its own listening socket and host key; a connection gets the
// CLI (shell channel), a one-shot command (exec channel) or NETCONF (the `netconf` subsystem,
// juniper_junos). Faults (latency, slow output, hang, drop, garbage, refused auth, changed host
// key) are applied here, at the edge, so the device model stays clean.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "device.h"
#include "nauto/base/result.h"

namespace nauto::lab {

struct SshStats {
  std::atomic<uint64_t> sessions_total{0};
  std::atomic<int64_t> sessions_active{0};
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> commands{0};
};

class SshServer {
 public:
  SshServer(const FleetSpec& fleet, std::vector<Device*> devices);
  ~SshServer();
  /// Loads or creates host keys, binds every port and starts the workers.
  Result<void> start();
  void stop();
  const SshStats& stats() const { return stats_; }
  /// known_hosts lines ("[127.0.0.1]:port ssh-ed25519 AAAA...") for every device.
  std::string known_hosts() const;

 private:
  struct Worker;
  struct Listener;
  const FleetSpec& fleet_;
  std::vector<Device*> devices_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<Worker>> workers_;
  SshStats stats_;
  std::atomic<bool> running_{false};
};

}  // namespace nauto::lab
