#pragma once
// Small helpers shared by the benchmarks: percentiles, a rate pacer, and this process's figures
// from /proc/self/status.

#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "nauto/base/clock.h"

namespace nauto::bench {

/// A number from /proc/self/status ("Threads"; "VmRSS" in KiB); 0 when absent.
inline long self_status(const std::string& key) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  }
  return 0;
}

inline double percentile(std::vector<std::int64_t> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1));
  return static_cast<double>(values[index]);
}

/// Offers load at a steady rate without burning a core: when message `n` is not yet due, it
/// sleeps until the next 100 us tick (timer slack set to 1 ns so the sleep is precise), then
/// sends everything due. A spinning generator would take a whole core from the system under
/// test on a 2-core machine.
class Pacer {
 public:
  explicit Pacer(double per_second) : interval_us_(1e6 / per_second), start_(steady_us()) {
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  }
  /// When the n-th item is due (steady_us clock).
  std::int64_t due(std::uint64_t n) const {
    return start_ + static_cast<std::int64_t>(static_cast<double>(n) * interval_us_);
  }
  void wait_for(std::uint64_t n) const {
    const auto due = this->due(n);
    for (auto now = steady_us(); now < due; now = steady_us()) {
      const auto tick = std::min<std::int64_t>(due - now, 100);
      timespec pause{0, tick * 1000};
      ::nanosleep(&pause, nullptr);
    }
  }

 private:
  double interval_us_;
  std::int64_t start_;
};

}  // namespace nauto::bench
