#include "device_locks.h"

#include <optional>

#include "nauto/base/io_wait.h"

namespace nauto::devices {

namespace {

// A waiter's own doorbell, listed for release() to ring while it exists. Made and ended with
// the locks' mutex held.
struct ListedDoorbell {
  std::list<const Doorbell*>& list;
  Doorbell bell;
  std::list<const Doorbell*>::iterator at;
  explicit ListedDoorbell(std::list<const Doorbell*>& waiters)
      : list(waiters), at(waiters.insert(waiters.end(), &bell)) {}
  ~ListedDoorbell() { list.erase(at); }
};

}  // namespace

Result<void> DeviceLocks::acquire(const std::string& device, const std::string& job, bool fail_fast,
                                  const drivers::Deadline& deadline) {
  std::unique_lock lock(mutex_);
  std::optional<ListedDoorbell> released;  // only when the device is busy; ends before `lock`
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
    if (!released) released.emplace(waiters_);
    released->bell.drain();
    lock.unlock();
    wait_ready(released->bell.fd(), POLLIN,
               std::min<std::int64_t>(deadline.remaining_ms() + 1, 100));
    lock.lock();
  }
}

void DeviceLocks::release(const std::string& device, const std::string& job) {
  {
    std::lock_guard lock(mutex_);
    const auto it = holders_.find(device);
    if (it != holders_.end() && it->second == job) holders_.erase(it);
    for (const auto* waiter : waiters_)
      waiter->ring();
  }
}

}  // namespace nauto::devices
