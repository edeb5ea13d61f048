#pragma once
// ConfirmTimers: the lab's pending `commit confirmed` deadlines. The main loop sleeps until the
// earliest one is due (or a new one arrives) and visits only the devices whose deadline passed,
// so an idle lab of 10,000 devices visits none of them (it used to walk every device every
// 20 ms: most of a core at that size).
//
// A deadline is a hint: Device::expire_confirmed_commit checks the device's own state, so a
// commit confirmed again, or confirmed in time, makes an old deadline harmless.
// Thread-safe: devices add deadlines from their session threads; one thread waits.

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace nauto::lab {

class Device;

class ConfirmTimers {
 public:
  void add(std::int64_t deadline_steady_ms, Device* device);
  /// Waits until a deadline is due, a new one arrives, or `max_wait_ms` passes (the caller's
  /// own stop flag is checked between waits: a signal handler cannot notify a condition
  /// variable). Returns the devices whose deadline has passed (a device twice if it had two).
  std::vector<Device*> wait_due(std::int64_t max_wait_ms);
  std::size_t pending() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::multimap<std::int64_t, Device*> deadlines_;
};

}  // namespace nauto::lab
