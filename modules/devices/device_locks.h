#pragma once
// DeviceLocks: at most one job changes a device at a time. A second job that wants to change
// the same device waits (until its deadline or cancellation) or, when asked, fails at once with
// an error naming the job that holds the device. A waiter sleeps on a doorbell of its own that
// release() rings (nauto/base/io_wait.h), so a waiting fiber parks instead of holding up the
// session loop that runs the job holding the device. Thread-safe.

#include <list>
#include <map>
#include <mutex>
#include <string>

#include "nauto/base/doorbell.h"
#include "nauto/base/result.h"
#include "nauto/drivers/deadline.h"

namespace nauto::devices {

class DeviceLocks {
 public:
  /// Takes the write lock of `device` for `job`. Errors: Overloaded (held by another job and
  /// fail_fast, or still held when `deadline` passed).
  Result<void> acquire(const std::string& device, const std::string& job, bool fail_fast,
                       const drivers::Deadline& deadline);
  void release(const std::string& device, const std::string& job);

 private:
  std::mutex mutex_;
  std::list<const Doorbell*> waiters_;          // rung on every release
  std::map<std::string, std::string> holders_;  // device -> job
};

}  // namespace nauto::devices
