#pragma once
// CircuitBreaker: stops hammering a device that keeps failing. After `threshold` consecutive
// failures the circuit opens and calls fail fast (Unavailable) for `cooldown_ms`; then one trial
// call is let through (half-open) and its outcome closes or re-opens the circuit. A device that
// said no to a command (Rejected) is healthy and does not count. Thread-safe.

#include <cstdint>
#include <mutex>
#include <string>

#include "nauto/base/result.h"

namespace nauto::drivers {

class CircuitBreaker {
 public:
  explicit CircuitBreaker(int threshold = 5, std::int64_t cooldown_ms = 30'000)
      : threshold_(threshold), cooldown_ms_(cooldown_ms) {}

  /// ok() if a call may go ahead; Unavailable naming the device and the time left otherwise.
  Result<void> allow(const std::string& device);
  void record(const Result<void>& outcome);
  void record_success();
  void record_failure(const Error& error);
  bool is_open() const;

 private:
  mutable std::mutex mutex_;
  int threshold_;
  std::int64_t cooldown_ms_;
  int consecutive_failures_ = 0;
  std::int64_t open_until_us_ = 0;
  bool trial_in_flight_ = false;
  std::string last_error_;
};

}  // namespace nauto::drivers
