#pragma once
// Retry with exponential backoff and full jitter, bounded by a deadline. Only transient faults
// are retried (refused, reset, timed out); an auth failure or host-key mismatch never is — the
// first would lock accounts, the second means someone may be in the middle.

#include <cstdint>
#include <functional>

#include "nauto/base/result.h"
#include "nauto/drivers/deadline.h"

namespace nauto::drivers {

struct RetryPolicy {
  int max_attempts = 4;
  std::int64_t base_delay_ms = 100;
  std::int64_t max_delay_ms = 5'000;
};

/// True for faults a later attempt may not meet: Unreachable and Timeout.
bool is_transient(const Error& error);

/// The wait before attempt `attempt` (1 = the first retry): uniform in [0, min(max, base*2^n)].
std::int64_t backoff_delay_ms(const RetryPolicy& policy, int attempt);

/// Called before each retry with the error that caused it and the wait chosen.
using RetryObserver = std::function<void(const Error& error, int attempt, std::int64_t delay_ms)>;

/// Runs `attempt` until it succeeds, fails permanently, runs out of attempts, or the next wait
/// would pass the deadline. Returns the last result.
template <typename T>
Result<T> with_retry(const RetryPolicy& policy, Deadline deadline,
                     const std::function<Result<T>()>& attempt, const RetryObserver& observer = {});

/// Sleeps `ms` (the calling thread; driver calls run on job threads, not event loops).
void sleep_ms(std::int64_t ms);
/// Sleeps `ms` or until `deadline` passes (or is cancelled), whichever comes first.
void sleep_within(std::int64_t ms, const Deadline& deadline);

template <typename T>
Result<T> with_retry(const RetryPolicy& policy, Deadline deadline,
                     const std::function<Result<T>()>& attempt, const RetryObserver& observer) {
  for (int n = 1;; ++n) {
    Result<T> result = attempt();
    if (result || !is_transient(result.error()) || n >= policy.max_attempts) return result;
    std::int64_t delay = backoff_delay_ms(policy, n);
    if (deadline.remaining_ms() <= delay) return result;
    if (observer) observer(result.error(), n, delay);
    sleep_within(delay, deadline);
    if (deadline.expired()) return result;
  }
}

}  // namespace nauto::drivers
