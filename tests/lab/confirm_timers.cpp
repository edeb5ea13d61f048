#include "confirm_timers.h"

#include <chrono>

#include "device.h"

namespace nauto::lab {

void ConfirmTimers::add(std::int64_t deadline_steady_ms, Device* device) {
  {
    std::lock_guard lock(mutex_);
    deadlines_.emplace(deadline_steady_ms, device);
  }
  changed_.notify_one();
}

std::vector<Device*> ConfirmTimers::wait_due(std::int64_t max_wait_ms) {
  std::unique_lock lock(mutex_);
  const auto give_up_ms = steady_ms() + max_wait_ms;
  for (;;) {
    const auto now = steady_ms();
    if (!deadlines_.empty() && deadlines_.begin()->first <= now) break;
    if (now >= give_up_ms) return {};
    auto until = give_up_ms;
    if (!deadlines_.empty() && deadlines_.begin()->first < until) until = deadlines_.begin()->first;
    changed_.wait_for(lock, std::chrono::milliseconds(until - now));
  }
  std::vector<Device*> due;
  const auto end = deadlines_.upper_bound(steady_ms());
  for (auto it = deadlines_.begin(); it != end; ++it)
    due.push_back(it->second);
  deadlines_.erase(deadlines_.begin(), end);
  return due;
}

std::size_t ConfirmTimers::pending() const {
  std::lock_guard lock(mutex_);
  return deadlines_.size();
}

}  // namespace nauto::lab
