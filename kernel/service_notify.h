#pragma once
// What nautod tells the service manager (systemd's sd_notify protocol, through libsystemd):
// READY=1 once the kernel serves requests, RELOADING=1 then READY=1 around a SIGHUP reload,
// STOPPING=1 when it begins to stop, and WATCHDOG=1 while the kernel is healthy, when the unit
// sets WatchdogSec. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
//
// Thread: nautod's main thread only (the one that waits for signals).

#include <cstdint>
#include <string>

namespace nauto::kernel {

class ServiceNotifier {
 public:
  ServiceNotifier();

  void ready(const std::string& status);
  void reloading();
  void stopping();
  /// One watchdog keep-alive; call it at least every watchdog_interval_ms().
  void watchdog();
  /// Half the unit's WatchdogSec in milliseconds (systemd's advice for the keep-alive period),
  /// or -1 when no watchdog is asked for.
  std::int64_t watchdog_interval_ms() const { return watchdog_interval_ms_; }

 private:
  std::int64_t watchdog_interval_ms_ = -1;
};

}  // namespace nauto::kernel
