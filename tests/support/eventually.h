#pragma once
// Waiting in tests for something another thread or process brings about.

#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

#include "nauto/base/clock.h"

namespace nauto::test {

/// Polls `condition` until true or `timeout_ms` passes; true if it became true.
inline bool eventually(const std::function<bool()>& condition, std::int64_t timeout_ms = 5000) {
  const auto give_up = steady_us() + timeout_ms * 1000;
  while (steady_us() < give_up) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

}  // namespace nauto::test
