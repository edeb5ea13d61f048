#pragma once
// Wall-clock time as the bus carries it: microseconds since the Unix epoch, in an int64.

#include <chrono>
#include <cstdint>

namespace nauto {

/// Microseconds since the Unix epoch (system clock). Thread-safe.
inline std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Monotonic microseconds, for intervals and deadlines inside one process. Thread-safe.
inline std::int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace nauto
