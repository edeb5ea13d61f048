#include "nauto/drivers/circuit_breaker.h"

#include "nauto/base/clock.h"

namespace nauto::drivers {

Result<void> CircuitBreaker::allow(const std::string& device) {
  std::lock_guard lock(mutex_);
  if (consecutive_failures_ < threshold_) return ok();
  auto now = steady_us();
  if (now < open_until_us_ || trial_in_flight_) {
    return fail(Errc::Unavailable,
                "circuit open after " + std::to_string(consecutive_failures_) +
                    " consecutive failures (last: " + last_error_ + "); next try in " +
                    std::to_string(std::max<std::int64_t>(0, (open_until_us_ - now) / 1000)) +
                    " ms",
                device);
  }
  trial_in_flight_ = true;  // half-open: one caller tries, the others keep failing fast
  return ok();
}

void CircuitBreaker::record(const Result<void>& outcome) {
  if (outcome) {
    record_success();
  } else {
    record_failure(outcome.error());
  }
}

void CircuitBreaker::record_success() {
  std::lock_guard lock(mutex_);
  consecutive_failures_ = 0;
  trial_in_flight_ = false;
}

void CircuitBreaker::record_failure(const Error& error) {
  if (error.code == Errc::Rejected || error.code == Errc::Unsupported ||
      error.code == Errc::InvalidArgument || error.code == Errc::Conflict) {
    return record_success();  // the device answered; it is our request that was wrong
  }
  std::lock_guard lock(mutex_);
  ++consecutive_failures_;
  trial_in_flight_ = false;
  last_error_ = error.describe();
  if (consecutive_failures_ >= threshold_) open_until_us_ = steady_us() + cooldown_ms_ * 1000;
}

bool CircuitBreaker::is_open() const {
  std::lock_guard lock(mutex_);
  return consecutive_failures_ >= threshold_ && steady_us() < open_until_us_;
}

}  // namespace nauto::drivers
