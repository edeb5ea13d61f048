#pragma once
// PathTiming: what nauto adds around the driver on the device path, for device.path_stats —
// from a device.call received to its driver starting (lookups, queueing, dispatch), and from
// the driver's result to the reply sent (recording, waking the module, answering). The driver's
// own time is kept too, as the baseline the overhead is compared with (docs/performance.md).
// Keeps the last kSamples calls. Single-threaded (the module's thread).

#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>

namespace nauto::devices {

class PathTiming {
 public:
  static constexpr std::size_t kSamples = 4096;

  /// One answered call; times are wall-clock microseconds. A call whose driver never started
  /// (cancelled, refused) is not a sample.
  void add(std::int64_t received_us, std::int64_t driver_started_us,
           std::int64_t driver_finished_us, std::int64_t replied_us);
  /// {calls, before_driver_ms, driver_ms, after_driver_ms}, each {p50, p90, p99, max}.
  nlohmann::json summary() const;
  void clear() { samples_.clear(); }

 private:
  struct Sample {
    std::int64_t before_us, driver_us, after_us;
  };
  std::deque<Sample> samples_;
};

}  // namespace nauto::devices
