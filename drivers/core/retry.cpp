#include "nauto/drivers/retry.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "nauto/base/io_wait.h"

namespace nauto::drivers {

bool is_transient(const Error& error) {
  return error.code == Errc::Unreachable || error.code == Errc::Timeout;
}

std::int64_t backoff_delay_ms(const RetryPolicy& policy, int attempt) {
  // Full jitter (AWS architecture blog): spreads a fleet's retries instead of synchronising them.
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::int64_t cap = policy.base_delay_ms << std::min(attempt - 1, 20);
  cap = std::min(cap, policy.max_delay_ms);
  return std::uniform_int_distribution<std::int64_t>(0, std::max<std::int64_t>(cap, 0))(random);
}

void sleep_ms(std::int64_t ms) {
  sleep_for_ms(ms);  // parks a fiber; blocks a thread
}

void sleep_within(std::int64_t ms, const Deadline& deadline) {
  const auto until = steady_us() + ms * 1000;
  while (!deadline.expired()) {
    const auto left_ms = (until - steady_us()) / 1000;
    if (left_ms <= 0) return;
    sleep_ms(std::min<std::int64_t>(left_ms, 100));
  }
}

}  // namespace nauto::drivers
