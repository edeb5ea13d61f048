#include "path_timing.h"

#include <algorithm>
#include <vector>

namespace nauto::devices {

void PathTiming::add(std::int64_t received_us, std::int64_t driver_started_us,
                     std::int64_t driver_finished_us, std::int64_t replied_us) {
  if (driver_started_us <= 0 || driver_finished_us < driver_started_us) return;
  if (samples_.size() == kSamples) samples_.pop_front();
  samples_.push_back({driver_started_us - received_us, driver_finished_us - driver_started_us,
                      replied_us - driver_finished_us});
}

nlohmann::json PathTiming::summary() const {
  auto percentiles = [this](std::int64_t Sample::*field) {
    std::vector<std::int64_t> values;
    values.reserve(samples_.size());
    for (const auto& sample : samples_)
      values.push_back(sample.*field);
    std::sort(values.begin(), values.end());
    auto at = [&](double q) {
      if (values.empty()) return 0.0;
      const auto index = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1));
      return static_cast<double>(values[index]) / 1000.0;
    };
    return nlohmann::json{{"p50", at(0.5)}, {"p90", at(0.9)}, {"p99", at(0.99)}, {"max", at(1)}};
  };
  return {{"calls", samples_.size()},
          {"before_driver_ms", percentiles(&Sample::before_us)},
          {"driver_ms", percentiles(&Sample::driver_us)},
          {"after_driver_ms", percentiles(&Sample::after_us)}};
}

}  // namespace nauto::devices
