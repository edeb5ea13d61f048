#include "device_locks.h"

#include <chrono>

namespace nauto::devices {

Result<void> DeviceLocks::acquire(const std::string& device, const std::string& job, bool fail_fast,
                                  const drivers::Deadline& deadline) {
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto it = holders_.find(device);
    if (it == holders_.end() || it->second == job) {
      holders_[device] = job;
      return ok();
    }
    if (fail_fast || deadline.expired()) {
      return fail(Errc::Overloaded,
                  "device is being changed by job " + it->second +
                      (fail_fast ? "; run again when it is done, or use --lock wait"
                                 : " and was not free before the deadline"),
                  device);
    }
    // Wakes on release, and every 100 ms to notice the deadline or a cancel.
    released_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

void DeviceLocks::release(const std::string& device, const std::string& job) {
  {
    std::lock_guard lock(mutex_);
    const auto it = holders_.find(device);
    if (it != holders_.end() && it->second == job) holders_.erase(it);
  }
  released_.notify_all();
}

}  // namespace nauto::devices
