#include "service_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

namespace nauto::kernel {

ServiceNotifier::ServiceNotifier() {
  std::uint64_t usec = 0;
  // 0 for the pid: the watchdog is ours only when WATCHDOG_PID (if set) names this process,
  // so a module process that inherited the environment never takes it.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
    watchdog_interval_ms_ = static_cast<std::int64_t>(usec / 2000);
}

void ServiceNotifier::ready(const std::string& status) {
  sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());
}

void ServiceNotifier::reloading() {
  // Type=notify-reload (systemd 253+) wants the monotonic time with RELOADING=1; older
  // managers ignore the field.
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ull +
                    static_cast<unsigned long long>(now.tv_nsec) / 1000ull;
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration", usec);
}

void ServiceNotifier::stopping() {
  sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void ServiceNotifier::watchdog() {
  if (watchdog_interval_ms_ > 0) sd_notify(0, "WATCHDOG=1");
}

}  // namespace nauto::kernel
